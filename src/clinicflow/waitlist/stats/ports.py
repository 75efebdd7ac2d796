"""The statistics' read model, as the use case sees it (`uow.stats`)."""

from __future__ import annotations

from typing import Protocol
from zoneinfo import ZoneInfo

from clinicflow.waitlist.domain.stats import StatRow


class StatQueries(Protocol):
    async def rows(self, tz: ZoneInfo) -> dict[str, list[StatRow]]:
        """Service → one row per entry (nothing that identifies anyone), joined dates in
        `tz`."""
        ...
