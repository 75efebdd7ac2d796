"""The demand use cases: the forecast for the next weeks beside capacity, and its backtest.
Both read the lake's current snapshot (never the live tables); a forecast is kept per
snapshot and day, so repeated reads are answered from memory."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from clinicflow.catalog import Catalog
from clinicflow.forecasting.demand.domain.capacity import weekly_capacity
from clinicflow.forecasting.demand.domain.model import (
    MIN_DAYS,
    DayForecast,
    backtest,
    backtest_ets,
    forecast,
    weekly_interval,
)
from clinicflow.forecasting.demand.domain.pickup import books
from clinicflow.forecasting.demand.domain.series import (
    Visit,
    daily,
    mase,
    mean_minutes,
    naive_mase,
    week_of,
)
from clinicflow.forecasting.demand.errors import BadHorizon, NotEnoughHistory
from clinicflow.forecasting.demand.guard import PlanningGuard
from clinicflow.forecasting.demand.ports import LakeFiles
from clinicflow.forecasting.demand.queries import LakeHistory
from clinicflow.forecasting.demand.views import Backtest, DayDemand, DemandForecast, WeekDemand
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock

MODEL = "booked + pickup (8-week weekday mean)"
WEEKS = 8
WINDOWS = 8  # the backtest's weekly origins
BY = ("service", "practitioner")


def read_visits(lake: LakeFiles) -> list[Visit]:
    """Every booking in the lake's current snapshot (blocking: run in a thread)."""
    history = LakeHistory(lake.data_files())
    try:
        return history.visits()
    finally:
        history.close()


@dataclass(kw_only=True, eq=False)
class DemandForecasts:
    lake: LakeFiles
    catalog: Catalog
    clock: Clock
    guard: PlanningGuard
    _cache: dict[tuple[str, date, int], DemandForecast] = field(default_factory=dict)

    def today(self) -> date:
        return self.clock.now().astimezone(self.catalog.clinic.tz).date()

    async def visits(self) -> list[Visit]:
        return await asyncio.to_thread(read_visits, self.lake)

    async def forecast(
        self, actor: Actor, by: str = "service", weeks: int = WEEKS
    ) -> DemandForecast:
        await self.guard.forecasts(actor)
        if by not in BY:
            raise BadHorizon(f"by: one of {', '.join(BY)}")
        if not 1 <= weeks <= 13:
            raise BadHorizon("weeks: 1 to 13")
        key = (by, self.today(), weeks)
        cached = self._cache.get(key)
        if cached is None:
            cached = self.predict(await self.visits(), by, weeks)
            self._cache = {key: cached, **{k: v for k, v in self._cache.items() if k[1] == key[1]}}
        return cached

    def predict(self, visits: list[Visit], by: str, weeks: int) -> DemandForecast:
        """The forecast from `visits` (pure but for the catalog): yesterday is the last day
        known; the weeks run from the first Monday after it."""
        tz = self.catalog.clinic.tz
        as_of = self.today() - timedelta(days=1)
        past = [v for v in visits if v.start.astimezone(tz).date() <= as_of]
        if not past:
            raise NotEnoughHistory("the lake holds no visits yet")
        first = min(v.start for v in past).astimezone(tz).date()
        if (as_of - first).days + 1 < MIN_DAYS:
            raise NotEnoughHistory(f"forecasts need {MIN_DAYS} days of visits in the lake")
        booked = books(visits, tz, by_practitioner=by == "practitioner")
        start = week_of(as_of + timedelta(days=7))  # next Monday (tomorrow, if Monday)
        horizon = (start - as_of).days + 7 * weeks - 1
        days: list[DayForecast] = []
        for book in booked.values():
            days += [d for d in forecast(book, as_of, horizon) if d.day >= start]
        capacity = weekly_capacity(self.catalog.practitioners.values(), start, 7 * weeks, tz)
        minutes = mean_minutes(past)
        weeks_out: list[WeekDemand] = []
        for key in booked:
            mine = [d for d in days if d.key == key]
            for n in range(weeks):
                monday = start + timedelta(days=7 * n)
                mean, lo, hi = weekly_interval([d for d in mine if week_of(d.day) == monday])
                service = key.split("/", 1)[0]
                demand = mean * minutes[service] if by == "service" and service in minutes else None
                cap = capacity.get((service, monday), 0) if by == "service" else None
                over = demand is not None and cap is not None and demand > cap
                weeks_out.append(WeekDemand(key, monday, mean, lo, hi, demand, cap, over))
        return DemandForecast(
            by=by,
            as_of=as_of,
            model=MODEL,
            days=tuple(
                DayDemand(d.key, d.day, booked[d.key].on_books(d.day, as_of), d.mean, d.lo, d.hi)
                for d in days
            ),
            weeks=tuple(weeks_out),
        )

    async def backtest(self, actor: Actor, by: str = "service") -> Backtest:
        await self.guard.forecasts(actor)
        return self.backtest_of(await self.visits(), by)

    def backtest_of(self, visits: list[Visit], by: str = "service") -> Backtest:
        tz = self.catalog.clinic.tz
        last = self.today() - timedelta(days=1)
        past = [v for v in visits if v.start.astimezone(tz).date() <= last]
        if not past:
            raise NotEnoughHistory("the lake holds no visits yet")
        first = min(v.start for v in past).astimezone(tz).date()
        split = by == "practitioner"
        series = daily(past, tz, first, last, by_practitioner=split)
        errors = backtest(books(visits, tz, by_practitioner=split), series, WINDOWS)
        if not errors:
            raise NotEnoughHistory(f"a backtest needs {MIN_DAYS + 7 * WINDOWS} days of visits")
        reference = backtest_ets(series, WINDOWS)
        cut = sorted({e.cutoff for e in errors})
        return Backtest(
            mase=round(mase(errors), 4),
            naive_mase=round(naive_mase(errors), 4),
            ets_mase=round(mase(reference), 4) if reference else math.nan,
            windows=WINDOWS,
            series=len({e.key for e in errors}),
            first_cutoff=cut[0],
            last_cutoff=cut[-1],
        )
