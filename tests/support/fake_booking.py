"""Booking in memory: a `BookingUnitOfWork` (booking/ports.py) over dicts, for use-case tests
with no database.

`BookingStore` is the state every unit of work of one factory shares (the "database"): the
appointments, the idempotency keys, the patients the matcher made, and what the visit-history
listener heard in committed transactions. `FakeBookingUnitOfWork` snapshots it on enter and
at each savepoint, and puts it back when the block ends without `commit()` (or a savepoint is
rolled back), as the real transaction would. Its repositories answer the questions the SQL
answers (booking/queries.py, booking/repository.py), by the same rules: occupying statuses,
live holds, half-open overlaps.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from clinicflow.booking.domain.appointment import Appointment, SlotTimes
from clinicflow.booking.domain.lifecycle import Status
from clinicflow.booking.errors import Deadlocked, RaceLost
from clinicflow.booking.ports import Busy
from clinicflow.booking.tables import OCCUPYING
from clinicflow.infra.outbox import Event
from clinicflow.patients import PatientDetails
from clinicflow.shared.minutes import to_minute
from support.fake_tables import OnTables, Repository, TablesTransaction
from support.fake_uow import FakeFactory, Ledger

T = TypeVar("T")


@dataclass
class BookingStore:
    appointments: dict[str, Appointment] = field(default_factory=dict)
    # (scope, key) -> (request fingerprint, booking id)
    keys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # email (or phone) -> patient id: the patients the matcher found or made
    patients: dict[str, str] = field(default_factory=dict)
    heard: list[Event] = field(default_factory=list)  # the visit history's events
    # Failures to inject: the next `add` calls raise these (a lost race, a deadlock).
    failures: list[RaceLost | Deadlocked] = field(default_factory=list)
    locks_asked: list[list[int]] = field(default_factory=list)

    def one(self) -> Appointment:
        (only,) = self.appointments.values()
        return only


def _occupying(a: Appointment, now: datetime) -> bool:
    """A row that takes the practitioner's time now: a hold only while it is live."""
    if a.status not in OCCUPYING:
        return False
    return a.status != "held" or (a.hold_expires_at is not None and a.hold_expires_at > now)


class FakeAppointments(OnTables[BookingStore]):
    @property
    def _rows(self) -> dict[str, Appointment]:
        return self._t.appointments

    async def get(self, booking_id: str, *, lock: bool = False) -> Appointment | None:
        return self._rows.get(booking_id)

    async def search(
        self,
        practitioner: str | None,
        lo: datetime | None,
        hi: datetime | None,
        limit: int,
        patient_id: str | None = None,
    ) -> list[Appointment]:
        found = [
            a
            for a in self._rows.values()
            if (practitioner is None or a.practitioner == practitioner)
            and (patient_id is None or a.patient_id == patient_id)
            and (lo is None or a.end_at > lo)
            and (hi is None or a.start_at < hi)
        ]
        return sorted(found, key=lambda a: (a.start_at, a.id))[:limit]

    async def add(self, new: Appointment) -> Appointment:
        if self._t.failures:
            raise self._t.failures.pop(0)
        assert new.id not in self._rows
        self._rows[new.id] = new
        return new

    def _change(self, booking_id: str, **values: object) -> Appointment:
        changed = replace(self._rows[booking_id], **values)
        self._rows[booking_id] = changed
        return changed

    async def confirm_hold(self, hold_id: str, patient_id: str, now: datetime) -> Appointment:
        return self._change(
            hold_id,
            status=Status.CONFIRMED.value,
            patient_id=patient_id,
            hold_expires_at=None,
            updated_at=now,
        )

    async def move(self, booking_id: str, times: SlotTimes, now: datetime) -> Appointment:
        return self._change(booking_id, **asdict(times), updated_at=now)  # what SlotTimes holds

    async def set_status(self, booking_id: str, status: Status, now: datetime) -> Appointment:
        return self._change(booking_id, status=status.value, updated_at=now)

    async def cancel(self, booking_id: str, reason: str | None, now: datetime) -> Appointment:
        return self._change(
            booking_id, status=Status.CANCELLED.value, cancel_reason=reason, updated_at=now
        )

    async def expire_lapsed_holds(
        self, practitioner: str, lo: datetime, hi: datetime, now: datetime
    ) -> list[Appointment]:
        lapsed = [
            a.id
            for a in self._rows.values()
            if a.practitioner == practitioner
            and a.status == Status.HELD.value
            and a.hold_expires_at is not None
            and a.hold_expires_at <= now
            and a.block_start < hi
            and a.block_end > lo
        ]
        return [self._change(i, status=Status.EXPIRED.value, updated_at=now) for i in lapsed]

    async def busy_blocks(
        self, practitioners: Sequence[str], lo: datetime, hi: datetime, now: datetime
    ) -> Busy:
        busy, _ = await self.blocks_and_lapsed_holds(practitioners, lo, hi, now)
        return busy

    async def blocks_and_lapsed_holds(
        self,
        practitioners: Sequence[str],
        lo: datetime,
        hi: datetime,
        now: datetime,
        exclude_id: str | None = None,
    ) -> tuple[Busy, set[str]]:
        busy: Busy = defaultdict(list)
        lapsed: set[str] = set()
        for a in self._rows.values():
            if a.practitioner not in practitioners or a.status not in OCCUPYING:
                continue
            if a.id == exclude_id or not (a.block_start < hi and a.block_end > lo):
                continue
            if not _occupying(a, now):  # a lapsed hold, still stored as held
                lapsed.add(a.practitioner)
            else:
                busy[a.practitioner].append((to_minute(a.block_start), to_minute(a.block_end)))
        return busy, lapsed

    async def patient_overlaps(
        self,
        patient_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
        exclude_id: str | None = None,
    ) -> bool:
        return any(
            a.patient_id == patient_id
            and a.id != exclude_id
            and _occupying(a, now)
            and a.start_at < end
            and a.end_at > start
            for a in self._rows.values()
        )

    async def day_load(
        self, practitioners: Sequence[str], lo: datetime, hi: datetime, now: datetime
    ) -> dict[str, int]:
        load: dict[str, int] = defaultdict(int)
        for a in self._rows.values():
            if a.practitioner in practitioners and _occupying(a, now) and lo <= a.start_at < hi:
                load[a.practitioner] += 1
        return dict(load)

    async def previous_practitioner(
        self, patient_id: str, service: str, eligible: Sequence[str]
    ) -> str | None:
        seen = [
            a
            for a in self._rows.values()
            if a.patient_id == patient_id
            and a.service == service
            and a.status in ("confirmed", "checked_in", "completed")
            and a.practitioner in eligible
        ]
        return max(seen, key=lambda a: a.start_at).practitioner if seen else None

    async def lapsed_holds(self, cutoff: datetime) -> list[str]:
        due = [
            a
            for a in self._rows.values()
            if (a.status == "held" and a.hold_expires_at is not None and a.hold_expires_at < cutoff)
            or (a.status == "expired" and a.updated_at < cutoff)
        ]
        return [a.id for a in sorted(due, key=lambda a: (a.created_at, a.id))]

    async def delete_lapsed_holds(self, cutoff: datetime) -> list[str]:
        due = await self.lapsed_holds(cutoff)
        for booking_id in due:
            del self._rows[booking_id]
        self._t.keys = {k: v for k, v in self._t.keys.items() if v[1] not in due}
        return due


class FakeIdempotencyKeys(OnTables[BookingStore]):
    async def find(self, scope: str, key: str) -> tuple[str, Appointment] | None:
        found = self._t.keys.get((scope, key))
        if found is None:
            return None
        fingerprint, booking_id = found
        return fingerprint, self._t.appointments[booking_id]

    async def remember(
        self, scope: str, key: str, fingerprint: str, booking_id: str, now: datetime
    ) -> None:
        assert (scope, key) not in self._t.keys, "the primary key refuses a second row"
        self._t.keys[scope, key] = (fingerprint, booking_id)


class FakeSlotLocks(OnTables[BookingStore]):
    """SQLite's answer (writers are serialized), remembering which keys were asked for."""

    async def queue_for(self, keys: list[int]) -> None:
        self._t.locks_asked.append(list(keys))


class FakePatients(OnTables[BookingStore]):
    """Match by email, else by phone (as the patients' directory does); else a new record."""

    async def match_or_create(self, details: PatientDetails, now: datetime) -> tuple[str, bool]:
        contact = details.email or details.phone
        assert contact is not None
        found = self._t.patients.get(contact)
        if found is not None:
            return found, False
        self._t.patients[contact] = made = str(uuid.uuid4())
        return made, True


class FakeHistory(OnTables[BookingStore]):
    """The in-transaction listener (the patients' visit history): what it heard."""

    async def handle(self, event: Event) -> None:
        self._t.heard.append(event)


class FakeBookingUnitOfWork(TablesTransaction[BookingStore]):
    kept = ("appointments", "keys", "patients", "heard")  # not the failures a test injects

    appointments = Repository(FakeAppointments)
    idempotency_keys = Repository(FakeIdempotencyKeys)
    slot_locks = Repository(FakeSlotLocks)
    _matcher = Repository(FakePatients)
    _history = Repository(FakeHistory)

    @property
    def patients(self) -> FakePatients:
        assert self.write, "a reading unit of work has no patients' matcher"
        return self._matcher

    @property
    def listeners(self) -> tuple[FakeHistory, ...]:
        return (self._history,)


@dataclass
class FakeBooking:
    """One in-memory booking database: `units` is what the use cases take (`uow=`)."""

    store: BookingStore = field(default_factory=BookingStore)
    ledger: Ledger = field(default_factory=Ledger)

    @property
    def units(self) -> FakeFactory[FakeBookingUnitOfWork]:
        return FakeFactory(
            lambda write: FakeBookingUnitOfWork(self.ledger, self.store, write=write)
        )
