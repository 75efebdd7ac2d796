"""The periodic poll of every external calendar: each feed, each practitioner it covers,
from its cursor (or a snapshot). It is the fallback for a push that never came: a lost
webhook or change notification is caught here, at the latest `calendar_poll_seconds` later.
Safe in several workers at once (the merge is idempotent), if wasteful."""

from __future__ import annotations

from datetime import datetime

from clinicflow.calendars.service import CalendarsService


class CalendarPoll:
    def __init__(self, service: CalendarsService) -> None:
        self._service = service

    async def run(self, _now: datetime) -> int:
        """Polls every feed; how many practitioners' stores changed."""
        outcomes = await self._service.sync_all()
        return sum(1 for o in outcomes if o.changed)
