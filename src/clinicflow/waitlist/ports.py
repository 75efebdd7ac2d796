"""What the waitlist needs from outside, and its unit of work.

The composition root implements `BookingDesk` with booking's own services
(`clinicflow.booking.SystemBooking`), `BookingRecords` with booking's and the catalog's
records inside the waitlist's transaction, and `Messenger` with the clinic's mailer; the
waitlist imports neither context. `WaitlistUnitOfWork` is one transaction over the
waitlist's repositories (each aggregate's `ports.py`) and those records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from clinicflow.infra.audit_trail import Access
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.domain.slots import Slot
from clinicflow.waitlist.entries.ports import EntryRepository
from clinicflow.waitlist.launches.ports import InvitationRepository, WaveRepository
from clinicflow.waitlist.nurture.ports import NurtureRepository
from clinicflow.waitlist.offers.ports import OfferRepository
from clinicflow.waitlist.stats.ports import StatQueries

__all__ = [
    "AuditLog",
    "Booked",
    "BookingDesk",
    "BookingRecords",
    "BookingState",
    "FreeSlot",
    "HandledEvents",
    "Messenger",
    "Slot",
    "WaitlistUnitOfWork",
]


class FreeSlot(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def practitioners(self) -> Sequence[str]: ...


class Booked(Protocol):
    """A booking as booking hands it back: ids and times only."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def visit_type(self) -> str: ...
    @property
    def duration(self) -> int: ...
    @property
    def practitioner(self) -> str: ...
    @property
    def patient_id(self) -> str | None: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


class BookingState(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def patient_id(self) -> str | None: ...


class BookingDesk(Protocol):
    """Booking's use cases, as the waitlist uses them, each in booking's own transaction.
    Errors are booking's own domain errors (slot taken, too little notice …): they say what
    to change, so they pass on."""

    async def free_slots(self, visit: Slot, until: datetime) -> Sequence[FreeSlot]:
        """The open slots for visits like `visit` (its service, visit type, length and
        practitioner, if named) from `visit.start` until `until`."""
        ...

    async def book(
        self, actor: Actor, slot: Slot, patient: PatientDetails, hold_id: str | None
    ) -> Booked: ...

    async def cancel(self, actor: Actor, booking_id: str, reason: str) -> Booked: ...

    async def hold(self, slot: Slot) -> Booked: ...

    def launched_here(self) -> None: ...


class BookingRecords(Protocol):
    """Booking's holds and the catalog's launches, changed inside the waitlist's unit of
    work (so an offer and its hold, or a launch and its event, commit together)."""

    async def extend_hold(self, hold_id: str, until: datetime, now: datetime) -> bool:
        """Keep a live hold until `until`; False when it lapsed, or was confirmed or
        released meanwhile."""
        ...

    async def release_hold(self, hold_id: str, now: datetime) -> bool:
        """Let a held slot go at once (booking publishes `booking.hold_released`)."""
        ...

    async def status_of(self, booking_id: str) -> BookingState | None: ...

    async def launched(self) -> frozenset[str]: ...

    async def launch(self, service: str, at: datetime, by: str) -> bool:
        """Whether this call launched it: False when it had been launched before."""
        ...


class HandledEvents(Protocol):
    """The inbox: which bus events a subscriber has handled, so a redelivery does nothing."""

    async def seen(self, subscriber: str, event_id: str) -> bool: ...

    async def mark(self, subscriber: str, event_id: str, clock: Clock) -> bool:
        """Whether it was new: False when the event was handled before."""
        ...


class WaitlistUnitOfWork(Transaction, Protocol):
    @property
    def entries(self) -> EntryRepository: ...
    @property
    def invitations(self) -> InvitationRepository: ...
    @property
    def waves(self) -> WaveRepository: ...
    @property
    def offers(self) -> OfferRepository: ...
    @property
    def nurtures(self) -> NurtureRepository: ...
    @property
    def stats(self) -> StatQueries: ...
    @property
    def booking(self) -> BookingRecords: ...
    @property
    def inbox(self) -> HandledEvents: ...


class AuditLog(Protocol):
    """The audit trail, for what is recorded outside a use case's unit of work: reads, and
    refusals (a refused request rolls its own transaction back but must leave its row)."""

    async def require_role(
        self, actor: Actor, allowed: bool, action: str, access: Access, detail: str
    ) -> None: ...

    async def record_alone(self, actor: Actor, action: str, accesses: Iterable[Access]) -> None: ...


class Messenger(Protocol):
    """Sends one email (the clinic's one email sender: SendGrid, SMTP, or the mailbox)."""

    async def send(self, to: str, subject: str, text: str) -> None: ...
