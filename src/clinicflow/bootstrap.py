"""The composition root: builds every part from Settings. The only place that wires."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from clinicflow.booking.calendars import TimeOffCalendar
from clinicflow.booking.handlers import BookingService
from clinicflow.booking.slots import AvailabilityService
from clinicflow.catalog import Catalog
from clinicflow.catalog.loader import load_catalog
from clinicflow.infra.crypto import KeyRing, load_or_create
from clinicflow.infra.db import Database
from clinicflow.patients import PatientDirectory
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock, SystemClock


@dataclass
class Container:
    settings: Settings
    catalog: Catalog
    clock: Clock
    db: Database
    keys: KeyRing
    availability: AvailabilityService
    bookings: BookingService

    async def aclose(self) -> None:
        await self.db.dispose()


def build(
    settings: Settings, *, clock: Clock | None = None, catalog: Catalog | None = None
) -> Container:
    catalog = catalog or load_catalog(settings.config_path)
    clock = clock or SystemClock()
    db = Database(settings.database_url, echo=settings.sql_echo)
    keys = load_or_create(settings.resolved_keys_file)
    sources = [TimeOffCalendar(catalog)]
    bookings = BookingService(
        db,
        catalog,
        clock,
        PatientDirectory(keys),
        sources,
        secret=hmac.new(keys.index_key, b"idempotency", hashlib.sha256).digest(),
        retries=settings.booking_retries,
    )
    return Container(
        settings=settings,
        catalog=catalog,
        clock=clock,
        db=db,
        keys=keys,
        availability=AvailabilityService(db, catalog, clock, sources),
        bookings=bookings,
    )
