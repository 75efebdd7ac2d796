"""The waitlist's use cases over in-memory repositories: no database, no app.

`FakeWaitlistUnitOfWork` gives the repositories of `waitlist.ports.WaitlistUnitOfWork`
(support/fake_waitlist_entries.py, support/fake_waitlist_links.py) over one shared
`WaitlistState` (the six tables, booking's holds, the launched set, the inbox),
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clinicflow.booking.views import BookingView, SlotView
from clinicflow.catalog import Catalog
from clinicflow.infra.crypto import KeyRing
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Conflict
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.slots import Slot
from clinicflow.waitlist.domain.timing import Timing
from clinicflow.waitlist.entries.commands import Contact, JoinRequest, TimeWindow
from clinicflow.waitlist.guard import WaitlistCipher, WaitlistGuard
from clinicflow.waitlist.service import Waitlist, assemble
from support.fake_tables import OnTables, Repository, TablesTransaction
from support.fake_trail import FakeTrail
from support.fake_uow import FakeFactory, Ledger
from support.fake_waitlist_entries import FakeEntries, Hold, Hooks, WaitlistState
from support.fake_waitlist_links import (
    FakeBookingRecords,
    FakeInbox,
    FakeInvitations,
    FakeNurtures,
    FakeOffers,
    FakeStats,
    FakeWaves,
)

PUBLIC_URL = "https://clinic.test"


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
