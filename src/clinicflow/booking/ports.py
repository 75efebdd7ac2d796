"""What booking needs from outside, and what its use cases see of its own storage: the
unit of work (`BookingUnitOfWork`) and its repositories, as protocols. The SQL behind them
is in repository.py; tests/support/fake_booking.py keeps them in memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from clinicflow.booking.domain.appointment import Appointment, SlotTimes
from clinicflow.booking.domain.availability import Interval
from clinicflow.booking.domain.lifecycle import Status
from clinicflow.infra.outbox import Event
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.patients import PatientDetails

T = TypeVar("T")


class CalendarSource(Protocol):
    """Busy time a practitioner has elsewhere (time off, Calendly, Office 365 …)."""

    name: str

    async def busy(
        self, practitioners: Sequence[str], window: Interval
    ) -> Mapping[str, Sequence[Interval]]: ...

    async def confirm(self, practitioner: str, window: Interval) -> Sequence[Interval]:
        """Asked once `practitioner` is chosen for a booking or hold, inside its
        transaction: the busy time in `window` the source finds now, beyond what `busy`
        said (a live look at an external calendar, with a tight timeout). Empty: nothing
        more; a source with nothing live answers empty at once."""
        ...


class PatientMatcher(Protocol):
    """Finds the patient behind a booking, or creates a minimal record, in the booking's
    transaction (the unit of work builds one on it: `uow.patients`)."""

    async def match_or_create(self, details: PatientDetails, now: datetime) -> tuple[str, bool]:
        """The patient's id, and whether this transaction created the record."""
        ...


class EventListener(Protocol):
    """Reacts to a booking event inside the transaction that produced it (the patients'
    visit history; the unit of work builds one on it: `uow.listeners`)."""

    async def handle(self, event: Event) -> None: ...


class Launches(Protocol):
    """The launched services (catalog): refreshed before a use case reads the catalog."""

    async def refresh(self) -> None: ...

    def invalidate(self) -> None: ...


Busy = dict[str, list[Interval]]  # each practitioner's occupied blocks, in epoch minutes


class Appointments(Protocol):
    """The appointments, in the unit of work's transaction."""

    async def get(self, booking_id: str, *, lock: bool = False) -> Appointment | None:
        """`lock`: held until the transaction ends (PostgreSQL; SQLite's writer is alone)."""
        ...

    async def search(
        self,
        practitioner: str | None,
        lo: datetime | None,
        hi: datetime | None,
        limit: int,
        patient_id: str | None = None,
    ) -> list[Appointment]:
        """By start, those overlapping [lo, hi)."""
        ...

    async def add(self, new: Appointment) -> Appointment: ...

    async def confirm_hold(self, hold_id: str, patient_id: str, now: datetime) -> Appointment: ...

    async def move(self, booking_id: str, times: SlotTimes, now: datetime) -> Appointment: ...

    async def set_status(self, booking_id: str, status: Status, now: datetime) -> Appointment: ...

    async def cancel(self, booking_id: str, reason: str | None, now: datetime) -> Appointment: ...

    async def expire_lapsed_holds(
        self, practitioner: str, lo: datetime, hi: datetime, now: datetime
    ) -> list[Appointment]:
        """Marks the practitioner's lapsed holds in [lo, hi) expired; the holds marked."""
        ...

    async def busy_blocks(
        self, practitioners: Sequence[str], lo: datetime, hi: datetime, now: datetime
    ) -> Busy:
        """Each practitioner's occupied blocks overlapping [lo, hi) (lapsed holds free)."""
        ...

    async def blocks_and_lapsed_holds(
        self,
        practitioners: Sequence[str],
        lo: datetime,
        hi: datetime,
        now: datetime,
        exclude_id: str | None = None,
    ) -> tuple[Busy, set[str]]:
        """`busy_blocks`, and which practitioners have lapsed holds in the window."""
        ...

    async def patient_overlaps(
        self,
        patient_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
        exclude_id: str | None = None,
    ) -> bool: ...

    async def day_load(
        self, practitioners: Sequence[str], lo: datetime, hi: datetime, now: datetime
    ) -> dict[str, int]:
        """Occupying visits starting in [lo, hi), per practitioner (none: absent)."""
        ...

    async def previous_practitioner(
        self, patient_id: str, service: str, eligible: Sequence[str]
    ) -> str | None:
        """Who the patient last saw (or will see) for `service`, among `eligible`."""
        ...

    async def lapsed_holds(self, cutoff: datetime) -> list[str]:
        """Ids of holds that lapsed before `cutoff` (held past expiry, or marked expired
        and untouched since), oldest first."""
        ...

    async def delete_lapsed_holds(self, cutoff: datetime) -> list[str]:
        """Deletes `lapsed_holds(cutoff)`, judged now (and locked), with their idempotency
        keys; their ids."""
        ...


class IdempotencyKeyStore(Protocol):
    async def find(self, scope: str, key: str) -> tuple[str, Appointment] | None:
        """The request fingerprint stored with the key, and the booking it made."""
        ...

    async def remember(
        self, scope: str, key: str, fingerprint: str, booking_id: str, now: datetime
    ) -> None: ...


class SlotLocks(Protocol):
    async def queue_for(self, keys: list[int]) -> None:
        """Wait for (or, in a transaction that holds some already, only try: SlotContended)
        the locks `keys` until the transaction ends (domain/locks.py)."""
        ...


class BookingUnitOfWork(Transaction, Protocol):
    """Booking's unit of work: its repositories, and the ports that act in its transaction."""

    @property
    def appointments(self) -> Appointments: ...

    @property
    def idempotency_keys(self) -> IdempotencyKeyStore: ...

    @property
    def slot_locks(self) -> SlotLocks: ...

    @property
    def patients(self) -> PatientMatcher: ...

    @property
    def listeners(self) -> Sequence[EventListener]: ...
