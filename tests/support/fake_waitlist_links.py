"""The waitlist's other in-memory repositories, for support/fake_waitlist.py: waves (one
number per service), invitations and offers (the links), nurture messages (one per step),
the statistics, the inbox and booking's records, over support/fake_waitlist_entries.py's
`WaitlistState`."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from clinicflow.infra.outbox import Event
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.domain.entry import Entry
from clinicflow.waitlist.domain.links import Invitation, NurtureMessage, Offer
from clinicflow.waitlist.domain.states import LIVE_OFFER
from clinicflow.waitlist.domain.stats import StatRow, stat_row
from clinicflow.waitlist.launches.ports import WaveAlreadySent
from clinicflow.waitlist.offers.ports import Candidate
from support.fake_tables import OnTables
from support.fake_uow import FakeTransaction
from support.fake_waitlist_entries import BookingNow, Hooks, WaitlistState


class FakeWaves(OnTables[WaitlistState]):
    def __init__(self, state: WaitlistState, hooks: Hooks) -> None:
        super().__init__(state)
        self.hooks = hooks

    async def last(self, service: str) -> int:
        last = max((n for s, n in self._t.waves if s == service), default=0)
        if self.hooks.stale_wave_once:
            self.hooks.stale_wave_once = False
            return last - 1
        return last

    async def add(
        self, service: str, number: int, now: datetime, capacity: int, invited: int
    ) -> None:
        if (service, number) in self._t.waves:
            raise WaveAlreadySent(f"{service} wave {number}")
        self._t.waves[service, number] = (now, capacity, invited)


Link = TypeVar("Link", Invitation, Offer)


class FakeLinks(OnTables[WaitlistState], Generic[Link]):
    """What invitations and offers share (`conversions.ports.LinkRepository`)."""

    def rows(self) -> dict[str, Link]:
        raise NotImplementedError

    async def by_token(self, token_hash: str, *, lock: bool = False) -> Link | None:
        return next((r for r in self.rows().values() if r.token_hash == token_hash), None)

    async def set_status(
        self, row_id: str, /, from_: Collection[str], to: str, now: datetime
    ) -> bool:
        return self._move(row_id, from_, status=to, status_at=now)

    async def set_claimed(
        self, row_id: str, /, from_: Collection[str], booking_id: str, now: datetime
    ) -> bool:
        return self._move(row_id, from_, status="claimed", status_at=now, booking_id=booking_id)

    def _move(self, row_id: str, from_: Collection[str], **values: str | datetime) -> bool:
        rows = self.rows()
        row = rows.get(row_id)
        if row is None or row.status not in from_:
            return False
        rows[row_id] = replace(row, **values)  # type: ignore[arg-type]
        return True

    async def stale_claims(self, before: datetime, limit: int) -> list[Link]:
        rows = self.rows().values()
        return [r for r in rows if r.status == "claiming" and r.status_at <= before][:limit]


class FakeInvitations(FakeLinks[Invitation]):
    def rows(self) -> dict[str, Invitation]:
        return self._t.invitations

    async def add(self, invitation: Invitation) -> None:
        self._t.invitations[invitation.id] = invitation

    async def live_count(self, service: str, now: datetime) -> int:
        return sum(
            1
            for i in self._t.invitations.values()
            if i.service == service
            and ((i.status == "sent" and i.expires_at > now) or i.status == "claiming")
        )

    async def never_invited(self, service: str) -> list[str]:
        invited = {i.entry_id for i in self._t.invitations.values()}
        return [
            e.id
            for e in self._t.entries.values()
            if e.service == service and e.status == "waiting" and e.id not in invited
        ]

    async def lapsed(self, now: datetime, limit: int) -> list[Invitation]:
        found = [
            i for i in self._t.invitations.values() if i.status == "sent" and i.expires_at <= now
        ]
        return sorted(found, key=lambda i: (i.expires_at, i.id))[:limit]

    async def live_of(self, entry_id: str) -> list[Invitation]:
        return [
            i
            for i in self._t.invitations.values()
            if i.entry_id == entry_id and i.status in ("sent", "claiming")
        ]


class FakeOffers(FakeLinks[Offer]):
    def rows(self) -> dict[str, Offer]:
        return self._t.offers

    async def add(self, offer: Offer) -> None:
        live = [o for o in self._t.offers.values() if o.hold_id == offer.hold_id]
        assert not [o for o in live if o.status in LIVE_OFFER], "one live offer per hold"
        self._t.offers[offer.id] = offer

    async def candidates(
        self, service: str, practitioner: str, hold_id: str, not_patient: str | None
    ) -> list[Candidate]:
        tried = {o.entry_id for o in self._t.offers.values() if o.hold_id == hold_id}
        return [
            Candidate(e.id, e.preferred_practitioner, e.preferred_times, e.patient_id)
            for e in self._t.entries.values()
            if e.service == service
            and e.status == "waiting"
            and e.preferred_practitioner in (None, practitioner)
            and e.id not in tried
            and (not_patient is None or e.patient_id is None or e.patient_id != not_patient)
        ]

    async def due(self, now: datetime, limit: int) -> list[Offer]:
        found = [o for o in self._t.offers.values() if o.status == "made" and o.expires_at <= now]
        return sorted(found, key=lambda o: (o.expires_at, o.id))[:limit]

    async def live_of(self, entry_id: str) -> list[Offer]:
        return [o for o in self._t.offers.values() if o.entry_id == entry_id and o.status == "made"]


class FakeNurtures(OnTables[WaitlistState]):
    async def due(self, before: datetime, limit: int) -> list[tuple[Entry, int]]:
        found = []
        for e in sorted(self._t.entries.values(), key=lambda e: (e.joined_at, e.id)):
            sent = [m for m in self._t.nurtures.values() if m.entry_id == e.id]
            since = max((m.sent_at for m in sent), default=e.joined_at)
            if e.status == "waiting" and since <= before:
                found.append((e, len(sent)))
        return found[:limit]

    async def add(self, entry_id: str, seq: int, token_hash: str, now: datetime) -> str | None:
        if any(m.entry_id == entry_id and m.seq == seq for m in self._t.nurtures.values()):
            return None
        made = NurtureMessage(str(uuid.uuid4()), entry_id, seq, token_hash, now, None)
        self._t.nurtures[made.id] = made
        return made.id

    async def by_token(self, token_hash: str, *, lock: bool = False) -> NurtureMessage | None:
        return next((m for m in self._t.nurtures.values() if m.token_hash == token_hash), None)

    async def mark_clicked(self, message_id: str, now: datetime) -> None:
        message = self._t.nurtures[message_id]
        if message.clicked_at is None:
            self._t.nurtures[message_id] = replace(message, clicked_at=now)


class FakeStats(OnTables[WaitlistState]):
    async def rows(self, tz: ZoneInfo) -> dict[str, list[StatRow]]:
        by_service: dict[str, list[StatRow]] = defaultdict(list)
        for e in self._t.entries.values():
            by_service[e.service].append(stat_row(e, tz))
        return dict(by_service)


class FakeInbox(OnTables[WaitlistState]):
    async def seen(self, subscriber: str, event_id: str) -> bool:
        return (subscriber, event_id) in self._t.inbox

    async def mark(self, subscriber: str, event_id: str, clock: Clock) -> bool:
        if (subscriber, event_id) in self._t.inbox:
            return False
        self._t.inbox.add((subscriber, event_id))
        return True


class FakeBookingRecords(OnTables[WaitlistState]):
    """Booking's holds and the launched set, changed in the waitlist's unit of work."""

    def __init__(self, state: WaitlistState, uow: FakeTransaction) -> None:
        super().__init__(state)
        self._uow = uow

    async def extend_hold(self, hold_id: str, until: datetime, now: datetime) -> bool:
        hold = self._t.holds.get(hold_id)
        if hold is None or hold.status != "held" or hold.expires_at is None:
            return False
        if hold.expires_at <= now:
            return False
        hold.expires_at = until
        return True

    async def release_hold(self, hold_id: str, now: datetime) -> bool:
        hold = self._t.holds.get(hold_id)
        if hold is None or hold.status != "held":
            return False
        hold.status = "cancelled"
        self._uow.publish(
            Event("booking.hold_released", "booking", hold_id, now, {"booking_id": hold_id})
        )
        return True

    async def status_of(self, booking_id: str) -> BookingNow | None:
        hold = self._t.holds.get(booking_id)
        return None if hold is None else BookingNow(hold.status, hold.patient_id)

    async def launched(self) -> frozenset[str]:
        return frozenset(self._t.launched)

    async def launch(self, service: str, at: datetime, by: str) -> bool:
        if service in self._t.launched:
            return False
        self._t.launched.add(service)
        return True
