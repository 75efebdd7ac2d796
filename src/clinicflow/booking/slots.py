"""The availability use case: bulk-load busy time, run the pure engine, answer in local time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from clinicflow.booking import errors, queries
from clinicflow.booking import rules as r
from clinicflow.booking.calendars import busy_elsewhere
from clinicflow.booking.domain.availability import find_slots
from clinicflow.booking.ports import CalendarSource
from clinicflow.booking.views import SlotView
from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.shared.clock import Clock
from clinicflow.shared.minutes import from_minute, to_minute, to_minute_ceil

MAX_RANGE = timedelta(days=92)
# Busy blocks are read a day beyond the window: buffers and local days reach past its edges.
_MARGIN = timedelta(days=1)


class AvailabilityService:
    def __init__(
        self, db: Database, catalog: Catalog, clock: Clock, sources: Sequence[CalendarSource]
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._clock = clock
        self._sources = sources
        self._tz = catalog.clinic.tz

    async def slots(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None,
    ) -> list[SlotView]:
        visit = r.resolve(self._catalog, service, visit_type, duration)
        keys = r.eligible(self._catalog, visit.service, practitioner)
        _check_range(lo, hi)
        now = self._clock.now()
        async with self._db.read() as conn:
            busy = await queries.busy_blocks(conn, keys, lo - _MARGIN, hi + _MARGIN, now)
        window = (to_minute_ceil(lo), to_minute_ceil(hi))
        margin = (to_minute(lo - _MARGIN), to_minute(hi + _MARGIN))
        other = await busy_elsewhere(self._sources, keys, margin)
        cals = r.calendars(self._catalog, keys, busy, *other)
        found = find_slots(cals, visit.rules(now), window, self._tz)
        tz = self._tz
        return [
            SlotView(
                from_minute(s.start).astimezone(tz),
                from_minute(s.end).astimezone(tz),
                s.practitioners,
            )
            for s in found
        ]


def _check_range(lo: datetime, hi: datetime) -> None:
    if hi <= lo:
        raise errors.InvalidRange("`end` must be after `start`")
    if hi - lo > MAX_RANGE:
        raise errors.RangeTooLong(
            f"ask for at most {MAX_RANGE.days} days at a time; narrow `start`..`end`"
        )
