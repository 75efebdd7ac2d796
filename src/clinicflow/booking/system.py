"""Booking on behalf of the clinic's own processes (the waitlist's launch waves and freed-slot
offers), and the launch-aware use cases.

`SystemBooking` is what another context is handed by the composition root: availability,
booking for a named person, holding a slot and then keeping it held for longer (or letting
it go) inside the caller's transaction, and the launch record. `LaunchAwareBookings` and
`LaunchAwareAvailability` refresh the launched set before each use case, so a launched
service is bookable everywhere (see `catalog.service.LaunchState`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain.lifecycle import Action, Status
from clinicflow.booking.events import booking_event
from clinicflow.booking.handlers import BookingService
from clinicflow.booking.lookup import BookingNow, booking_now
from clinicflow.booking.slots import AvailabilityService
from clinicflow.booking.tables import appointments
from clinicflow.booking.views import BookingView, SlotView
from clinicflow.catalog.repository import launched_services, record_launch
from clinicflow.catalog.service import LaunchState
from clinicflow.infra.outbox import record
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import Actor

a = appointments.c


class SlotFacts(Protocol):
    """A slot as another context describes it."""

    @property
    def service(self) -> str: ...
    @property
    def visit_type(self) -> str: ...
    @property
    def duration(self) -> int: ...
    @property
    def start(self) -> datetime: ...
    @property
    def practitioner(self) -> str | None: ...


def _request(slot: SlotFacts) -> SlotRequest:
    return SlotRequest(slot.service, slot.visit_type, slot.duration, slot.start, slot.practitioner)


class LaunchAwareBookings(BookingService):
    """BookingService over `launches.catalog(...)`: refreshes the launched set first."""

    def __init__(self, launches: LaunchState, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._launches = launches

    async def hold(self, req: SlotRequest) -> BookingView:
        await self._launches.refresh()
        return await super().hold(req)

    async def book(
        self, actor: Actor, req: BookRequest, idempotency_key: str | None
    ) -> tuple[BookingView, bool]:
        await self._launches.refresh()
        return await super().book(actor, req, idempotency_key)

    async def reschedule(
        self,
        actor: Actor,
        booking_id: str,
        start: datetime,
        practitioner: str | None,
        duration: int | None,
    ) -> BookingView:
        await self._launches.refresh()
        return await super().reschedule(actor, booking_id, start, practitioner, duration)


class LaunchAwareAvailability(AvailabilityService):
    def __init__(self, launches: LaunchState, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._launches = launches

    async def slots(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None,
    ) -> list[SlotView]:
        await self._launches.refresh()
        return await super().slots(service, visit_type, duration, lo, hi, practitioner)


class SystemBooking:
    def __init__(
        self, bookings: BookingService, availability: AvailabilityService, launches: LaunchState
    ) -> None:
        self._bookings = bookings
        self._availability = availability
        self._launches = launches

    async def free_slots(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None = None,
    ) -> list[SlotView]:
        return await self._availability.slots(service, visit_type, duration, lo, hi, practitioner)

    async def book(
        self, actor: Actor, slot: SlotFacts, patient: PatientDetails, hold_id: str | None
    ) -> BookingView:
        """A booking for `patient` (matched or created); with `hold_id`, that hold confirmed."""
        view, _ = await self._bookings.book(
            actor, BookRequest(_request(slot), patient, hold_id), None
        )
        return view

    async def cancel(self, actor: Actor, booking_id: str, reason: str) -> BookingView:
        return await self._bookings.act(actor, booking_id, Action.CANCEL, reason)

    async def hold(self, slot: SlotFacts) -> BookingView:
        """A hold for the exact slot (the clinic's usual hold length); raises the booking
        error when the slot is no longer free."""
        return await self._bookings.hold(_request(slot))

    async def extend_hold(
        self, conn: AsyncConnection, hold_id: str, until: datetime, now: datetime
    ) -> bool:
        """Keep a live hold until `until`, in the caller's transaction; False when it lapsed
        or was confirmed or released meanwhile."""
        result = await conn.execute(
            update(appointments)
            .where(a.id == hold_id, a.status == Status.HELD.value, a.hold_expires_at > now)
            .values(hold_expires_at=until, updated_at=now)
        )
        return bool(result.rowcount)

    async def release_hold(self, conn: AsyncConnection, hold_id: str, now: datetime) -> bool:
        """Let a held slot go at once, in the caller's transaction (booking.hold_released)."""
        result = await conn.execute(
            update(appointments)
            .where(a.id == hold_id, a.status == Status.HELD.value)
            .values(status=Status.CANCELLED.value, updated_at=now)
            .returning(appointments)
        )
        rows = result.all()
        await record(conn, *(booking_event("hold_released", row, now) for row in rows))
        return bool(rows)

    async def status_of(self, conn: AsyncConnection, booking_id: str) -> BookingNow | None:
        return await booking_now(conn, booking_id)

    async def launched(self, conn: AsyncConnection) -> frozenset[str]:
        return await launched_services(conn)

    async def launch(self, conn: AsyncConnection, service: str, at: datetime, by: str) -> bool:
        return await record_launch(conn, service, at, by)

    def launched_here(self) -> None:
        """A launch committed in this process: booking sees it from the next request on."""
        self._launches.invalidate()
