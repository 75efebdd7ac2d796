"""The EHR adapter when no EHR is configured: the event is acknowledged and dropped."""

from __future__ import annotations

import structlog

from clinicflow.integrations.ports import SyncedVisit

log = structlog.get_logger(__name__)


class NoEhr:
    name = "none"

    async def schedule_encounter(self, visit: SyncedVisit) -> None:
        log.debug("ehr_sync_not_configured", booking_id=visit.booking_id)

    async def cancel_encounter(self, booking_id: str) -> None:
        log.debug("ehr_sync_not_configured", booking_id=booking_id)
