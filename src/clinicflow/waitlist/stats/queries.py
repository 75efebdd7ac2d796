"""The rows the waitlist statistics are computed from: status, join date, ZIP3, distance and
stage times per entry; nothing that identifies anyone."""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.waitlist.domain.stats import StatRow, stat_row
from clinicflow.waitlist.tables import entries

e = entries.c
_QUERY = select(
    e.service, e.status, e.joined_at, e.zip3, e.distance_mi,
    e.notified_at, e.clicked_at, e.booked_at, e.paid_at,
)  # fmt: skip


class SqlStats:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def rows(self, tz: ZoneInfo) -> dict[str, list[StatRow]]:
        by_service: dict[str, list[StatRow]] = defaultdict(list)
        for r in await self._conn.execute(_QUERY):
            by_service[r.service].append(stat_row(r, tz))
        return dict(by_service)
