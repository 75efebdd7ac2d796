"""The booking context's wiring."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from clinicflow.booking.cache import CachedAvailability
from clinicflow.booking.calendars import TimeOffCalendar
from clinicflow.booking.guard import BookingGuard
from clinicflow.booking.handlers import BookingService
from clinicflow.booking.reads import BookingReader
from clinicflow.booking.system import LaunchAwareAvailability, LaunchAwareBookings, SystemBooking
from clinicflow.bootstrap.core import Core
from clinicflow.infra.cache import Cache, MemoryCache, RedisCache
from clinicflow.patients import PatientDirectory, VisitHistory


@dataclass(frozen=True)
class BookingParts:
    bookings: BookingService  # launch-aware: refreshes the launched set first
    availability: CachedAvailability  # answers dropped when a booking commits
    reads: BookingReader
    desk: SystemBooking  # booking on behalf of the clinic's own processes (the waitlist)


def wire_booking(core: Core, *, patients: PatientDirectory) -> BookingParts:
    settings = core.settings
    sources = [TimeOffCalendar(catalog=core.loaded)]
    guard = BookingGuard(trail=core.trail)
    # The keyword arguments are BookingService's (LaunchAwareBookings passes them on).
    bookings = LaunchAwareBookings(
        core.launches,
        db=core.db,
        catalog=core.catalog,
        clock=core.clock,
        patients=patients,
        sources=sources,
        guard=guard,
        secret=hmac.new(core.keys.index_key, b"idempotency", hashlib.sha256).digest(),
        listeners=[VisitHistory()],
        retries=settings.booking_retries,
    )
    finder = LaunchAwareAvailability(
        core.launches, db=core.db, catalog=core.catalog, clock=core.clock, sources=sources
    )
    return BookingParts(
        bookings=bookings,
        availability=_cached(core, finder),
        reads=BookingReader(db=core.db, clock=core.clock, guard=guard),
        desk=SystemBooking(bookings=bookings, availability=finder, launches=core.launches),
    )


def _cached(core: Core, finder: LaunchAwareAvailability) -> CachedAvailability:
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
