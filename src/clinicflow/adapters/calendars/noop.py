"""The calendar adapter when no calendar is configured: the event is acknowledged and dropped,
so the subscriber's inbox still records it and nothing is retried forever."""

from __future__ import annotations

import structlog

from clinicflow.integrations.ports import SyncedVisit

log = structlog.get_logger(__name__)


class NoCalendar:
    name = "none"

    async def upsert_visit(self, visit: SyncedVisit) -> None:
        log.debug("calendar_sync_not_configured", booking_id=visit.booking_id)

    async def remove_visit(self, booking_id: str, practitioner: str) -> None:
        log.debug("calendar_sync_not_configured", booking_id=booking_id)
