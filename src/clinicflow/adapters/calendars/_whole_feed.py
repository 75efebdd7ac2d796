"""What the CalDAV and ICS feeds share: `snapshot` and `live` read from the practitioners they
cover, each feed saying what it covers and how it reads one practitioner's busy intervals."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from clinicflow.calendars.domain.busy import BusyInterval, Snapshot


class ReadWholeFeed:
    """A base for a feed read whole per practitioner: `snapshot` reads every covered
    practitioner at once, `live` one (nothing for one not covered)."""

    name: str

    def covers(self, practitioner: str) -> bool:
        raise NotImplementedError

    async def _busy(
        self, practitioner: str, start: datetime, end: datetime
    ) -> tuple[BusyInterval, ...]:
        raise NotImplementedError

    async def snapshot(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[Snapshot]:
        covered = [p for p in practitioners if self.covers(p)]
        found = await asyncio.gather(*(self._busy(p, start, end) for p in covered))
        return [
            Snapshot(self.name, p, start, end, intervals)
            for p, intervals in zip(covered, found, strict=True)
        ]

    async def live(
        self, practitioner: str, start: datetime, end: datetime
    ) -> Sequence[BusyInterval]:
        if not self.covers(practitioner):
            return ()
        return await self._busy(practitioner, start, end)
