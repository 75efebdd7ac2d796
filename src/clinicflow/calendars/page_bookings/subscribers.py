"""Booking events → the page bookings imported from Calendly: a visit cancelled or moved in
clinicflow is no longer what the Calendly event says (`CalendlyImports.changed_here`)."""

from __future__ import annotations

from clinicflow.calendars.page_bookings.service import CalendlyImports
from clinicflow.infra.bus import Envelope

HOW = {"booking.cancelled": "cancelled", "booking.rescheduled": "moved"}


class PageBookingChanges:
    name = "calendly_page_bookings"
    types = frozenset(HOW)

    def __init__(self, imports: CalendlyImports) -> None:
        self._imports = imports

    async def handle(self, event: Envelope) -> None:
        await self._imports.changed_here(str(event.payload["booking_id"]), HOW[event.type])
