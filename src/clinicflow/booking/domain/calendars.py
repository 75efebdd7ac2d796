"""The local calendar source: configured time off (a `CalendarSource`; appointments are read
in the transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from clinicflow.booking.domain.availability import Interval
from clinicflow.catalog import Catalog
from clinicflow.shared.minutes import to_minute


class TimeOffCalendar:
    name = "time_off"

    def __init__(self, catalog: Catalog) -> None:
        self._blocks: dict[str, list[Interval]] = {
            key: sorted((to_minute(t.start), to_minute(t.end)) for t in p.time_off)
            for key, p in catalog.practitioners.items()
        }

    async def busy(
        self, practitioners: Sequence[str], window: Interval
    ) -> Mapping[str, Sequence[Interval]]:
        lo, hi = window
        return {
            key: [b for b in self._blocks.get(key, ()) if b[0] < hi and b[1] > lo]
            for key in practitioners
        }

    async def confirm(self, practitioner: str, window: Interval) -> Sequence[Interval]:
        return ()  # configured time off: `busy` said it all
