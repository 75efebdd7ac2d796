"""The waitlist's use cases over in-memory repositories: no database, no app.

`FakeWaitlistUnitOfWork` gives the repositories of `waitlist.ports.WaitlistUnitOfWork` over
one shared `WaitlistState` (the six tables, booking's holds, the launched set, the inbox),
snapshotted as a unit of work opens and put back when it ends without `commit()` (as the
real one rolls back). The repositories keep the rules the database keeps: one open entry
per service and person, one wave number per service, one nurture message per step,
conditional status moves. `FakeDesk` is booking's side (holds, bookings, free slots),
`FakeTrail` (support.fake_trail) the audit log outside a unit of work, `FakeMessenger` the
mailer.

`build(clock, catalog)` wires the use cases with `waitlist.service.assemble`, as
`clinicflow.bootstrap.waitlist` does.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from clinicflow.booking.views import BookingView, SlotView
from clinicflow.catalog import Catalog
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.outbox import Event
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Conflict
from clinicflow.waitlist.domain.entry import Entry, NewEntry, Placement
from clinicflow.waitlist.domain.links import Invitation, NurtureMessage, Offer
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.scoring import Engagement
from clinicflow.waitlist.domain.slots import Slot
from clinicflow.waitlist.domain.standing import Queued
from clinicflow.waitlist.domain.states import LIVE_OFFER, OPEN, QUEUED, STAGES, Status
from clinicflow.waitlist.domain.stats import StatRow, stat_row
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.entries.commands import Contact, JoinRequest, TimeWindow
from clinicflow.waitlist.entries.ports import AlreadyListed, EntryChanges
from clinicflow.waitlist.guard import WaitlistCipher, WaitlistGuard
from clinicflow.waitlist.launches.ports import WaveAlreadySent
from clinicflow.waitlist.offers.ports import Candidate
from clinicflow.waitlist.service import Waitlist, assemble
from support.fake_tables import OnTables, Repository, TablesTransaction
from support.fake_trail import FakeTrail
from support.fake_uow import FakeFactory, FakeTransaction, Ledger

PUBLIC_URL = "https://clinic.test"


@dataclass
class Hold:
    """A booking hold or booking on booking's side."""

    id: str
    slot: Slot
    status: str  # held | confirmed | cancelled
    expires_at: datetime | None
    patient_id: str | None = None


@dataclass
class BookingNow:
    status: str
    patient_id: str | None


@dataclass
class WaitlistState:
    entries: dict[str, Entry] = field(default_factory=dict)
    engagements: list[tuple[str, str, datetime, str | None]] = field(default_factory=list)
    waves: dict[tuple[str, int], tuple[datetime, int, int]] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    nurtures: dict[str, NurtureMessage] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    # Booking's and the catalog's side.
    holds: dict[str, Hold] = field(default_factory=dict)
    launched: set[str] = field(default_factory=set)


# -- the repositories ------------------------------------------------------------------------


@dataclass
class Hooks:
    """What a test makes happen between two steps, outside any unit of work (so no
    rollback undoes it)."""

    blind_once: bool = False  # the next `find_open` misses: another join commits just after
    stale_wave_once: bool = False  # the next `last` wave misses one another process just sent


class FakeEntries(OnTables[WaitlistState]):
    def __init__(self, state: WaitlistState, hooks: Hooks | None = None) -> None:
        super().__init__(state)
        self.hooks = hooks or Hooks()

    async def find_open(
        self, service: str, email_bidx: str | None, phone_bidx: str | None
    ) -> Entry | None:
        if self.hooks.blind_once:
            self.hooks.blind_once = False
            return None
        if email_bidx:
            found = [e for e in self._open(service) if e.email_bidx == email_bidx]
        elif phone_bidx:
            found = [e for e in self._open(service) if e.phone_bidx == phone_bidx]
        else:
            return None
        return min(found, key=lambda e: (e.joined_at, e.id), default=None)

    def _open(self, service: str) -> list[Entry]:
        return [e for e in self._t.entries.values() if e.service == service and e.status in OPEN]

    async def of_person(
        self, patient_id: str, email_bidx: str | None, phone_bidx: str | None
    ) -> list[Entry]:
        def theirs(e: Entry) -> bool:
            if e.patient_id is not None:
                return e.patient_id == patient_id
            if email_bidx:
                return e.email_bidx == email_bidx
            return phone_bidx is not None and e.phone_bidx == phone_bidx

        found = [e for e in self._t.entries.values() if theirs(e)]
        found.sort(key=lambda e: e.id)
        return sorted(found, key=lambda e: e.joined_at, reverse=True)

    async def get(self, entry_id: str, *, lock: bool = False) -> Entry | None:
        return self._t.entries.get(entry_id)

    async def by_token(self, token_hash: str, *, lock: bool = False) -> Entry | None:
        return next((e for e in self._t.entries.values() if e.token_hash == token_hash), None)

    async def add(self, new: NewEntry, token_hash: str) -> Entry:
        for e in self._open(new.service):  # the unique indexes on open entries
            if (new.email_bidx and e.email_bidx == new.email_bidx) or (
                not new.email_bidx and not e.email_bidx and e.phone_bidx == new.phone_bidx
            ):
                raise AlreadyListed(new.service)
        entry = entry_from(new, token_hash)
        self._t.entries[entry.id] = entry
        return entry

    async def change(self, entry: Entry, values: EntryChanges, now: datetime) -> None:
        current = self._t.entries[entry.id]
        status_at = now if values.get("status", current.status) != current.status else None
        self._t.entries[entry.id] = replace(
            current,
            **values,
            status_at=status_at or current.status_at,
            updated_at=now,
            version=entry.version + 1,
        )

    async def move(
        self, entry_id: str, from_: Collection[str], to: Status, now: datetime
    ) -> Entry | None:
        return self._move(entry_id, from_, to, now)

    async def place(
        self, entry_id: str, from_: Collection[str], placed: Placement, now: datetime
    ) -> Entry | None:
        return self._move(entry_id, from_, Status.BOOKED, now, placed)

    def _move(
        self,
        entry_id: str,
        from_: Collection[str],
        to: Status,
        now: datetime,
        placed: Placement | None = None,
    ) -> Entry | None:
        entry = self._t.entries.get(entry_id)
        if entry is None or entry.status not in from_:
            return None
        moved = replace(
            entry, status=to.value, status_at=now, updated_at=now, version=entry.version + 1
        )
        if placed is not None:
            moved = replace(moved, patient_id=placed.patient_id, booking_id=placed.booking_id)
        self._t.entries[entry_id] = moved
        return moved

    async def add_engagement(
        self, entry_id: str, kind: str, at: datetime, ref: str | None = None
    ) -> bool:
        if ref is not None and any(
            (e, k, r) == (entry_id, kind, ref) for e, k, _, r in self._t.engagements
        ):
            return False
        self._t.engagements.append((entry_id, kind, at, ref))
        return True

    async def stamp(self, entry_id: str, stage: str, at: datetime) -> bool:
        assert stage in STAGES
        entry = self._t.entries.get(entry_id)
        if entry is None or entry.reached(stage) is not None:
            return False
        self._t.entries[entry_id] = replace(entry, **{f"{stage}_at": at}, updated_at=at)  # type: ignore[arg-type]
        return True

    async def queue(
        self, service: str, now: datetime
    ) -> tuple[list[Queued], dict[str, tuple[Engagement, ...]]]:
        queued = [
            Queued(e.id, e.joined_at, e.interest_level, e.distance_mi)
            for e in self._t.entries.values()
            if e.service == service and e.status in QUEUED
        ]
        ids = {q.id for q in queued}
        grouped: dict[str, list[Engagement]] = defaultdict(list)
        for entry_id, kind, at, _ in self._t.engagements:
            if entry_id in ids and at <= now:
                grouped[entry_id].append(Engagement(kind, at))
        return queued, {k: tuple(v) for k, v in grouped.items()}

    async def engagements_of(self, entry_id: str, now: datetime) -> tuple[Engagement, ...]:
        return tuple(
            Engagement(k, at) for e, k, at, _ in self._t.engagements if e == entry_id and at <= now
        )

    async def listed(self, service: str | None, status: str | None) -> list[Entry]:
        found = [
            e
            for e in self._t.entries.values()
            if (service is None or e.service == service) and (status is None or e.status == status)
        ]
        return sorted(found, key=lambda e: (e.service, e.joined_at, e.id))

    async def withdrawn_before(self, at: datetime) -> list[str]:
        gone = [e for e in self._t.entries.values() if e.status == "withdrawn" and e.status_at < at]
        return [e.id for e in sorted(gone, key=lambda e: (e.status_at, e.id))]

    async def delete_withdrawn_before(self, at: datetime) -> list[str]:
        ids = await self.withdrawn_before(at)
        for entry_id in ids:
            del self._t.entries[entry_id]
        s = self._t
        s.engagements = [x for x in s.engagements if x[0] not in ids]
        s.invitations = {k: i for k, i in s.invitations.items() if i.entry_id not in ids}
        s.offers = {k: o for k, o in s.offers.items() if o.entry_id not in ids}
        s.nurtures = {k: m for k, m in s.nurtures.items() if m.entry_id not in ids}
        return ids

    async def converted_by(self, booking_ids: Sequence[str]) -> list[str]:
        return [e.id for e in self._t.entries.values() if e.booking_id in booking_ids]


def entry_from(new: NewEntry, token_hash: str) -> Entry:
    return Entry(
        **{k: getattr(new, k) for k in NewEntry.__dataclass_fields__},
        token_hash=token_hash,
        booking_id=None,
        notified_at=None,
        clicked_at=None,
        booked_at=None,
        paid_at=None,
        version=1,
    )


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


class FakeWaitlistUnitOfWork(TablesTransaction[WaitlistState]):
    invitations = Repository(FakeInvitations)
    offers = Repository(FakeOffers)
    nurtures = Repository(FakeNurtures)
    stats = Repository(FakeStats)
    inbox = Repository(FakeInbox)

    def __init__(
        self, ledger: Ledger, state: WaitlistState, hooks: Hooks, *, write: bool = True
    ) -> None:
        super().__init__(ledger, state, write=write)
        self.entries = FakeEntries(state, hooks)  # these take more than the tables
        self.waves = FakeWaves(state, hooks)
        self.booking = FakeBookingRecords(state, self)


# -- booking's side, the audit log, the mailer ---------------------------------------------


# What booking's desk hands the waitlist (bootstrap/booking.py `WaitlistDesk`), the same values.
Booked = BookingView
FreeSlot = SlotView


class SlotTaken(Conflict):
    code = "slot_unavailable"


class FakeDesk(OnTables[WaitlistState]):
    """Booking's use cases, each in booking's own transaction: holds and bookings kept in
    the shared state; a patient id per person (by email, else phone)."""

    def __init__(self, state: WaitlistState, clock: Clock) -> None:
        super().__init__(state)
        self._clock = clock
        self.slots: list[FreeSlot] = []
        self.booked: list[tuple[Actor, Slot, PatientDetails, str | None]] = []
        self.cancelled: list[str] = []
        self.refuse: Exception | None = None  # raised by the next `book`
        self.launches_seen = 0

    async def free_slots(self, visit: Slot, until: datetime) -> list[FreeSlot]:
        return [s for s in self.slots if visit.start <= s.start < until]

    async def book(
        self, actor: Actor, slot: Slot, patient: PatientDetails, hold_id: str | None
    ) -> Booked:
        if self.refuse is not None:
            refused, self.refuse = self.refuse, None
            raise refused
        self.booked.append((actor, slot, patient, hold_id))
        patient_id = f"patient-{patient.email or patient.phone}"
        if hold_id is not None:
            hold = self._t.holds[hold_id]
            if hold.status != "held":
                raise SlotTaken("the hold is gone")
            hold.status, hold.patient_id = "confirmed", patient_id
        else:
            self._free_or_refuse(slot)
            hold_id = str(uuid.uuid4())
            self._t.holds[hold_id] = Hold(hold_id, slot, "confirmed", None, patient_id)
        return self._booked(self._t.holds[hold_id])

    async def cancel(self, actor: Actor, booking_id: str, reason: str) -> Booked:
        self.cancelled.append(booking_id)
        self._t.holds[booking_id].status = "cancelled"
        return self._booked(self._t.holds[booking_id])

    async def hold(self, slot: Slot) -> Booked:
        self._free_or_refuse(slot)
        hold = Hold(str(uuid.uuid4()), slot, "held", self._clock.now() + timedelta(minutes=10))
        self._t.holds[hold.id] = hold
        return self._booked(hold)

    def launched_here(self) -> None:
        self.launches_seen += 1

    def _free_or_refuse(self, slot: Slot) -> None:
        for h in self._t.holds.values():
            live = h.status in ("held", "confirmed")
            if live and (h.slot.start, h.slot.practitioner) == (slot.start, slot.practitioner):
                raise SlotTaken("that slot is taken")

    def _booked(self, hold: Hold) -> Booked:
        s, now = hold.slot, self._clock.now()
        end = s.start + timedelta(minutes=s.duration)
        return Booked(
            hold.id, hold.status, s.service, s.visit_type, s.duration, s.practitioner or "",
            hold.patient_id, s.start, end, hold.expires_at, None, now, now,
            actions=(),  # the waitlist reads ids, statuses and times only
        )  # fmt: skip


class FakeMessenger:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # to, subject, text

    async def send(self, to: str, subject: str, text: str) -> None:
        self.sent.append((to, subject, text))

    def to(self, address: str) -> list[str]:
        return [text for who, _, text in self.sent if who == address]

    def link(self, address: str, kind: str) -> str:
        """The token of the latest `kind` link (invitations, offers, t) sent to `address`."""
        pattern = re.compile(rf"/waitlist/{kind}(?:\?token=|/)([A-Za-z0-9_-]+)")
        found = [m.group(1) for text in self.to(address) if (m := pattern.search(text))]
        assert found, f"no {kind} link sent to {address}"
        return found[-1]


# -- the whole waitlist over them ----------------------------------------------------------


@dataclass
class FakeWaitlist:
    waitlist: Waitlist
    state: WaitlistState
    ledger: Ledger
    desk: FakeDesk
    trail: FakeTrail
    messenger: FakeMessenger
    cipher: WaitlistCipher
    hooks: Hooks
    uow: FakeFactory[FakeWaitlistUnitOfWork]

    def audited(self) -> list[tuple[str, str, str]]:
        """(action, resource id, reason) of every committed audit entry."""
        return [(e.action, e.resource_id, e.reason or "") for e, _ in self.ledger.audited]

    def events(self, type_: str) -> list[dict[str, object]]:
        return [dict(e.payload) for e in self.ledger.published if e.type == type_]


def build(
    clock: Clock,
    catalog: Catalog,
    *,
    policy: WaitlistPolicy | None = None,
    timing: Timing | None = None,
) -> FakeWaitlist:
    state, ledger, hooks = WaitlistState(), Ledger(), Hooks()
    uow = FakeFactory(lambda write: FakeWaitlistUnitOfWork(ledger, state, hooks, write=write))
    policy, timing = policy or WaitlistPolicy(), timing or Timing()
    desk, trail, messenger = FakeDesk(state, clock), FakeTrail(), FakeMessenger()
    cipher = WaitlistCipher(KeyRing.generate())
    waitlist = assemble(
        uow=uow,
        clock=clock,
        catalog=catalog,
        cipher=cipher,
        guard=WaitlistGuard(trail),
        desk=desk,
        messenger=messenger,
        policy=policy,
        timing=timing,
        public_url=PUBLIC_URL,
    )
    return FakeWaitlist(waitlist, state, ledger, desk, trail, messenger, cipher, hooks, uow)


# -- people and callers ----------------------------------------------------------------------

FRONT_DESK = Actor(kind="user", id="desk-1", role=Role.FRONT_DESK)
ADMIN = Actor(kind="user", id="admin-1", role=Role.ADMIN)
ANALYST = Actor(kind="user", id="analyst-1", role=Role.ANALYST)
PHI = ("Wren", "Halloway", "example.org", "78701", "5125550")


def person(n: int, service: str = "counseling", **over: Any) -> JoinRequest:
    """Person `n`'s join: Wren`n` Halloway, wren`n`@example.org, ZIP 78701 (the clinic's),
    interest 3; `over` changes any of it (`email`, `phone`, `preferred_times` as dicts …)."""
    contact = Contact(
        f"Wren{n}", "Halloway", over.pop("email", f"wren{n}@example.org"), over.pop("phone", None)
    )
    times = tuple(TimeWindow(**w) for w in over.pop("preferred_times", ()))
    values: dict[str, Any] = {"zip": "78701", "interest_level": 3} | over
    return JoinRequest(service, contact, preferred_times=times, **values)
