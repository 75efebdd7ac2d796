"""Nurture: waiting entries hear from the clinic every `nurture_days` (counted from the last
message, or from joining), and a click on the message's tracking link counts as engagement.

Each message is a row (`waitlist_nurture`: entry, sequence number, tracking-token hash) and a
`waitlist.nurture_due` event (ids only); the email itself goes through the waitlist's
messenger (see `waitlist.messages.service`). The row's (entry, sequence) is unique, so two workers
running the job at once send one message. A click records `clicked` engagement once per
message (it feeds the priority score) and stamps the entry's `clicked` stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.domain.links import new_token
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.errors import no_such_link
from clinicflow.waitlist.events import waitlist_event
from clinicflow.waitlist.links.service import checked
from clinicflow.waitlist.messages.service import LinkMail, Outgoing
from clinicflow.waitlist.nurture.views import Clicked
from clinicflow.waitlist.ports import WaitlistUnitOfWork

_BATCH = 500


@dataclass(kw_only=True, eq=False)
class NurtureService:
    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    timing: Timing
    mail: LinkMail

    async def send_due(self, now: datetime) -> int:
        """The periodic job: one message to every waiting entry whose turn has come."""
        outgoing: list[Outgoing] = []
        async with self.uow() as uow:
            for entry, sent in await uow.nurtures.due(now - self.timing.nurture_every, _BATCH):
                seq = sent + 1
                token, hashed = new_token()
                message_id = await uow.nurtures.add(entry.id, seq, hashed, now)
                if message_id is None:
                    continue  # sent by another process just now
                uow.publish(
                    waitlist_event("nurture_due", entry, now, nurture_id=message_id, seq=seq)
                )
                outgoing.append(self.mail.nurture(entry, token))
            await uow.commit()
        await self.mail.send(outgoing)
        return len(outgoing)

    async def click(self, token: str) -> Clicked:
        found = checked(token, "message")
        now = self.clock.now()
        async with self.uow() as uow:
            message = await uow.nurtures.by_token(found, lock=True)
            if message is None:
                raise no_such_link("message")
            counted = await uow.entries.add_engagement(
                message.entry_id, "clicked", now, f"nurture:{message.id}"
            )
            await uow.nurtures.mark_clicked(message.id, now)
            await uow.entries.stamp(message.entry_id, "clicked", now)
            entry = await uow.entries.get(message.entry_id)
            await uow.commit()
        if entry is None:
            raise no_such_link("message")
        return Clicked(entry.service, entry.status, counted)
