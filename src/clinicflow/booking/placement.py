"""Choosing who takes a slot, checked against every committed booking in the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import queries
from clinicflow.booking import rules as r
from clinicflow.booking.calendars import busy_elsewhere
from clinicflow.booking.commands import SlotRequest
from clinicflow.booking.domain.availability import check_start
from clinicflow.booking.domain.matching import order_candidates
from clinicflow.booking.ports import CalendarSource
from clinicflow.catalog import Catalog
from clinicflow.shared.minutes import to_minute


@dataclass(frozen=True, slots=True)
class Placed:
    practitioner: str
    lapsed_holds: bool  # lapsed holds sit in the block: mark them expired before inserting


class Placement:
    def __init__(self, catalog: Catalog, sources: Sequence[CalendarSource]) -> None:
        self._catalog = catalog
        self._sources = sources
        self._tz = catalog.clinic.tz

    async def choose(
        self,
        conn: AsyncConnection,
        visit: r.VisitRequest,
        slot: SlotRequest,
        patient_id: str | None,
        now: datetime,
        exclude_id: str | None = None,
    ) -> Placed:
        """The practitioner who takes `slot`; raises the reason when nobody can."""
        keys = r.eligible(self._catalog, visit.service, slot.practitioner)
        if len(keys) > 1:
            keys = await self._match_order(conn, visit, keys, slot.start, patient_id, now)
        lo, hi = visit.block(slot.start)
        db_busy, lapsed = await queries.blocks_and_lapsed_holds(conn, keys, lo, hi, now, exclude_id)
        other = await busy_elsewhere(self._sources, keys, (to_minute(lo), to_minute(hi) + 1))
        engine_rules = visit.rules(now)
        start = to_minute(slot.start)
        rejections = []
        for cal in r.calendars(self._catalog, keys, db_busy, *other):
            why = check_start(cal, engine_rules, start, self._tz)
            if why is None:
                return Placed(cal.key, cal.key in lapsed)
            rejections.append(why)
        raise r.rejection_error(rejections, visit, slot.start, self._tz, engine_rules)

    async def _match_order(
        self,
        conn: AsyncConnection,
        visit: r.VisitRequest,
        keys: tuple[str, ...],
        start: datetime,
        patient_id: str | None,
        now: datetime,
    ) -> tuple[str, ...]:
        local = start.astimezone(self._tz)
        day_lo = local.replace(hour=0, minute=0, second=0, microsecond=0)
        day_hi = (day_lo.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=self._tz)
        load = await queries.day_load(conn, keys, day_lo, day_hi, now)
        previous = None
        if patient_id is not None:
            previous = await queries.previous_practitioner(
                conn, patient_id, visit.service.key, keys
            )
        return tuple(order_candidates(keys, previous, load))
