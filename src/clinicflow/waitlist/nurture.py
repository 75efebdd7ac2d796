"""Nurture: waiting entries hear from the clinic every `nurture_days` (counted from the last
message, or from joining), and a click on the message's tracking link counts as engagement.

Each message is a row (`waitlist_nurture`: entry, sequence number, tracking-token hash) and a
`waitlist.nurture_due` event (ids only); the email itself goes through the waitlist's
messenger (see `waitlist.messages`). The row's (entry, sequence) is unique, so two workers
running the job at once send one message. A click records `clicked` engagement once per
message (it feeds the priority score) and stamps the entry's `clicked` stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.infra.db import Database
from clinicflow.infra.outbox import record
from clinicflow.shared.clock import Clock
from clinicflow.waitlist import checks
from clinicflow.waitlist import links_repo as links
from clinicflow.waitlist import repository as repo
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.errors import no_such_link
from clinicflow.waitlist.events import waitlist_event
from clinicflow.waitlist.link_rules import checked
from clinicflow.waitlist.messages import LinkMail, Outgoing
from clinicflow.waitlist.tables import nurtures

_BATCH = 500


@dataclass(frozen=True, slots=True)
class Clicked:
    service: str
    status: str  # the entry's
    counted: bool  # False when this message's click was counted before


class Nurture:
    def __init__(self, db: Database, clock: Clock, timing: Timing, mail: LinkMail) -> None:
        self._db = db
        self._clock = clock
        self._timing = timing
        self._mail = mail

    async def send_due(self, now: datetime) -> int:
        """The periodic job: one message to every waiting entry whose turn has come."""
        outgoing: list[Outgoing] = []
        async with self._db.write() as conn:
            for row in await links.nurture_due(conn, now - self._timing.nurture_every, _BATCH):
                seq = int(row.sent_count) + 1
                token, token_hash = checks.new_token()
                nurture_id = await links.add_nurture(conn, row.id, seq, token_hash, now)
                if nurture_id is None:
                    continue  # sent by another process just now
                await record(
                    conn, waitlist_event("nurture_due", row, now, nurture_id=nurture_id, seq=seq)
                )
                outgoing.append(self._mail.nurture(row, token))
        await self._mail.send(outgoing)
        return len(outgoing)

    async def click(self, token: str) -> Clicked:
        found = checked(token, "message")
        now = self._clock.now()
        async with self._db.write() as conn:
            message = await links.by_token(conn, nurtures, found, lock=True)
            if message is None:
                raise no_such_link("message")
            counted = await repo.add_engagement(
                conn, message.entry_id, "clicked", now, f"nurture:{message.id}"
            )
            if message.clicked_at is None:
                await conn.execute(
                    nurtures.update().where(nurtures.c.id == message.id).values(clicked_at=now)
                )
            await repo.stamp(conn, message.entry_id, "clicked", now)
            entry = await links.entry(conn, message.entry_id)
        assert entry is not None
        return Clicked(entry.service, entry.status, counted)
