"""The waitlist's own emails: an invitation's booking link, an offer's claim link, a nurture
message's tracking link. Each link opens a page of the booking site (web/waitlist_claims.py,
web/waitlist_pages.py), which calls the same use cases as the API's `/v1/waitlist/...` routes.

The notifications context sends what booking events describe, to patients found by patient
id; a waitlist entry is not a patient yet and its links are secrets that no event may
carry (events are PHI-free and stored in the outbox). So the link is sent here, right
after the transaction that created it commits, through the `Messenger` port (the clinic's
mailer), and only by email to people who chose email. A failed send is logged without PHI
and not retried: the invitation or offer stands, and staff see it in the entry's stages.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.infra.logging import get_logger
from clinicflow.shared.actor import SYSTEM
from clinicflow.waitlist.domain.channels import chosen
from clinicflow.waitlist.domain.entry import Entry
from clinicflow.waitlist.domain.links import Offer
from clinicflow.waitlist.guard import WaitlistCipher, WaitlistGuard, access
from clinicflow.waitlist.ports import Messenger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Outgoing:
    kind: str  # invitation | offer | nurture | repeat_join
    row: Entry
    subject: str
    text: str


class LinkMail:
    def __init__(
        self,
        *,
        messenger: Messenger | None,
        cipher: WaitlistCipher,
        guard: WaitlistGuard,
        catalog: Catalog,
        public_url: str,
    ) -> None:
        self._messenger = messenger
        self._cipher = cipher
        self._guard = guard
        self._catalog = catalog
        self.public_url = public_url.rstrip("/")

    def service_name(self, key: str) -> str:
        service = self._catalog.services.get(key)
        return service.name if service else key

    def local(self, at: datetime) -> str:
        return f"{at.astimezone(self._catalog.clinic.tz):%A %d %B %Y, %H:%M}"

    def invitation(self, row: Entry, token: str, expires_at: datetime) -> Outgoing:
        name, clinic = self.service_name(row.service), self._catalog.clinic.name
        url = f"{self.public_url}/waitlist/invitations?token={token}"
        text = (
            f"{name} is now open at {clinic}, and you are among the first invited from the "
            f"waitlist.\n\nChoose your first visit here before {self.local(expires_at)}:\n"
            f"{url}\n\nThe link is yours alone; after that time it passes to the next person."
        )
        return Outgoing("invitation", row, f"{name} at {clinic}: book your first visit", text)

    def offer(self, row: Entry, token: str, slot: Offer) -> Outgoing:
        name, clinic = self.service_name(row.service), self._catalog.clinic.name
        who = self._catalog.practitioners.get(slot.practitioner)
        url = f"{self.public_url}/waitlist/offers?token={token}"
        text = (
            f"A {name} visit has opened up: {self.local(slot.start_at)}"
            f"{f' with {who.name}' if who else ''}.\n\nIt is held for you until "
            f"{self.local(slot.expires_at)}. Claim it here:\n{url}\n\n"
            "If you let it pass, it goes to the next person and you keep your place."
        )
        return Outgoing("offer", row, f"A {name} visit opened up at {clinic}", text)

    def nurture(self, row: Entry, token: str) -> Outgoing:
        name, clinic = self.service_name(row.service), self._catalog.clinic.name
        url = f"{self.public_url}/waitlist/t/{token}"
        text = (
            f"You are still on the waitlist for {name} at {clinic}. We will write as soon "
            f"as there is a place for you.\n\nWhat is new, and where you stand:\n{url}"
        )
        return Outgoing("nurture", row, f"{name} at {clinic}: an update", text)

    def repeat_join(self, row: Entry) -> Callable[[], Awaitable[int]]:
        """Tells the person that someone (most likely they) asked to join again: the join's
        answer could not say so without telling a stranger that this email is listed."""
        name, clinic = self.service_name(row.service), self._catalog.clinic.name
        text = (
            f"We were asked to add this address to the waitlist for {name} at {clinic}. "
            f"It has been on that waitlist since {self.local(row.joined_at)}, so nothing "
            "changed: your place and the private link we gave you then still stand.\n\n"
            "If you did not ask, you need not do anything."
        )
        message = Outgoing("repeat_join", row, f"{name} at {clinic}: you are already listed", text)
        return functools.partial(self.send, [message])

    async def send(self, messages: Sequence[Outgoing]) -> int:
        """Send each by email where the person chose email; how many went."""
        if self._messenger is None:
            return 0
        reachable = [m for m in messages if m.row.email_enc and "email" in chosen(m.row.channels)]
        if not reachable:
            return 0
        await self._guard.record_alone(SYSTEM, "notify", [access(m.row) for m in reachable])
        sent = 0
        for message in reachable:
            to = self._cipher.open(message.row.email_enc, "email", message.row.id) or ""
            try:
                await self._messenger.send(to, message.subject, message.text)
                sent += 1
            except Exception as exc:  # logged without PHI: the entry id and the error type
                log.warning(
                    "waitlist_message_failed",
                    kind=message.kind,
                    entry_id=message.row.id,
                    error=type(exc).__name__,
                )
        return sent
