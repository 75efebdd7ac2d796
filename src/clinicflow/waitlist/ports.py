"""What the waitlist needs from outside. The composition root implements `BookingDesk` with
booking's own services (`clinicflow.booking.SystemBooking`) and `Messenger` with the
clinic's mailer; the waitlist imports neither context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import Actor


@dataclass(frozen=True, slots=True)
class Slot:
    """A visit to book or hold: the service's visit type and length, at `start`."""

    service: str
    visit_type: str
    duration: int
    start: datetime  # aware
    practitioner: str | None = None


class FreeSlot(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def practitioners(self) -> tuple[str, ...]: ...


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
    """Booking's use cases, as the waitlist uses them. Errors are booking's own domain
    errors (slot taken, too little notice …): they say what to change, so they pass on."""

    async def free_slots(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None = None,
    ) -> Sequence[FreeSlot]: ...

    async def book(
        self, actor: Actor, slot: Slot, patient: PatientDetails, hold_id: str | None
    ) -> Booked: ...

    async def cancel(self, actor: Actor, booking_id: str, reason: str) -> Booked: ...

    async def hold(self, slot: Slot) -> Booked: ...

    async def extend_hold(
        self, conn: AsyncConnection, hold_id: str, until: datetime, now: datetime
    ) -> bool: ...

    async def release_hold(self, conn: AsyncConnection, hold_id: str, now: datetime) -> bool: ...

    async def status_of(self, conn: AsyncConnection, booking_id: str) -> BookingState | None: ...

    async def launched(self, conn: AsyncConnection) -> frozenset[str]: ...

    async def launch(self, conn: AsyncConnection, service: str, at: datetime, by: str) -> bool: ...

    def launched_here(self) -> None: ...


class Messenger(Protocol):
    """Sends one email (the clinic's one email sender: SendGrid, SMTP, or the mailbox)."""

    async def send(self, to: str, subject: str, text: str) -> None: ...
