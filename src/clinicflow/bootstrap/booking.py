"""The booking context's wiring, and the adapters that let other contexts' ports reach it.

Booking's unit of work is given, by keyword, what acts in its transaction from outside:
the patients' match-or-create and the visit history (an in-transaction listener), each
bound to the transaction's connection by the patients' public surface (`….on(conn)`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import SqlBookingDesk
from clinicflow.booking.availability.service import AvailabilityService, CachedAvailability
from clinicflow.booking.commands import BookRequest, SlotQuestion, SlotRequest
from clinicflow.booking.domain.calendars import TimeOffCalendar
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.guard import BookingGuard
from clinicflow.booking.ports import CalendarSource
from clinicflow.booking.repository import SqlBookingUnitOfWork
from clinicflow.booking.service import BookingReader, BookingService
from clinicflow.booking.views import BookingView, SlotView
from clinicflow.bootstrap.core import Core
from clinicflow.catalog.service import LaunchState
from clinicflow.infra.cache import Cache, MemoryCache, RedisCache
from clinicflow.infra.unit_of_work import Factory
from clinicflow.patients import PatientDetails, PatientDirectory, VisitHistory
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist import Slot


@dataclass(frozen=True)
class BookingParts:
    bookings: BookingService  # launch-aware: refreshes the launched set first
    availability: CachedAvailability  # answers dropped when a booking commits
    reads: BookingReader
    desk: WaitlistDesk  # booking on behalf of the clinic's own processes (the waitlist)


def wire_booking(
    core: Core, *, patients: PatientDirectory, elsewhere: Sequence[CalendarSource] = ()
) -> BookingParts:
    """`elsewhere`: calendar sources besides the configured time off (the external
    calendars' store, bootstrap/calendars.py)."""
    settings = core.settings
    history = VisitHistory()
    units = Factory(
        core.db,
        partial(
            SqlBookingUnitOfWork,
            patients=patients.on,
            listeners=[history.on],
        ),
    )
    sources: list[CalendarSource] = [TimeOffCalendar(catalog=core.loaded), *elsewhere]
    guard = BookingGuard(trail=core.trail)
    bookings = BookingService(
        uow=units,
        catalog=core.catalog,
        clock=core.clock,
        sources=sources,
        guard=guard,
        secret=hmac.new(core.keys.index_key, b"idempotency", hashlib.sha256).digest(),
        launches=core.launches,
        retries=settings.booking_retries,
    )
    finder = AvailabilityService(
        uow=units, catalog=core.catalog, clock=core.clock, sources=sources, launches=core.launches
    )
    return BookingParts(
        bookings=bookings,
        availability=_cached(core, finder),
        reads=BookingReader(uow=units, clock=core.clock, guard=guard),
        desk=WaitlistDesk(bookings=bookings, availability=finder, launches=core.launches),
    )


def _cached(core: Core, finder: AvailabilityService) -> CachedAvailability:
    settings = core.settings
    store: Cache | None = None
    if settings.availability_cache:
        redis = settings.cache_storage == "redis"
        store = RedisCache(settings.redis_url, settings.cache_prefix) if redis else MemoryCache()
    cached = CachedAvailability(
        inner=finder,
        cache=store,
        catalog=core.catalog,
        clock=core.clock,
        ttl=settings.availability_cache_seconds,
    )
    core.db.on_commit(cached.booking_changed)
    return cached


def _request(slot: Slot) -> SlotRequest:
    return SlotRequest(slot.service, slot.visit_type, slot.duration, slot.start, slot.practitioner)


class WaitlistDesk:
    """The waitlist's `BookingDesk` port (waitlist/ports.py) over booking's use cases: the
    waitlist's launch waves and freed-slot offers book, hold and cancel as the clinic. (The
    steps it takes inside its own transaction — keep a hold longer, let it go, read a
    booking's status — go through booking's `SqlBookingDesk` on the waitlist's unit of work:
    bootstrap/waitlist.py.)"""

    def __init__(
        self, *, bookings: BookingService, availability: AvailabilityService, launches: LaunchState
    ) -> None:
        self._bookings = bookings
        self._availability = availability
        self._launches = launches

    async def free_slots(self, visit: Slot, until: datetime) -> list[SlotView]:
        kind = (visit.service, visit.visit_type, visit.duration)
        return await self._availability.find(
            SlotQuestion(*kind, visit.start, until, visit.practitioner)
        )

    async def book(
        self, actor: Actor, slot: Slot, patient: PatientDetails, hold_id: str | None
    ) -> BookingView:
        """A booking for `patient` (matched or created); with `hold_id`, that hold confirmed."""
        view, _ = await self._bookings.book(
            actor, BookRequest(_request(slot), patient, hold_id), None
        )
        return view

    async def cancel(self, actor: Actor, booking_id: str, reason: str) -> BookingView:
        return await self._bookings.act(actor, booking_id, Action.CANCEL, reason)

    async def hold(self, slot: Slot) -> BookingView:
        """A hold for the exact slot (the clinic's usual hold length); raises the booking
        error when the slot is no longer free."""
        return await self._bookings.hold(_request(slot))

    def launched_here(self) -> None:
        """A launch committed in this process: booking sees it from the next request on."""
        self._launches.invalidate()


class PatientReassigner:
    """The patients' `BookingReassigner` port (a merge moves the duplicate's bookings to the
    survivor) over booking's `SqlBookingDesk`, on the merge's transaction."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def reassign(self, conn: AsyncConnection, source_id: str, target_id: str) -> int:
        return await SqlBookingDesk(conn).reassign_patient(source_id, target_id, self._clock.now())
