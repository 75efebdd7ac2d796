"""The demand use cases: the forecast for the next weeks beside capacity, and its backtest.
Both read the lake's current snapshot (never the live tables); a forecast is kept per
snapshot and day, so repeated reads are answered from memory."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta

from clinicflow.catalog import Catalog
from clinicflow.forecasting.demand.domain.forecast import (
    BY,
    MODEL,
    Backtest,
    DemandForecast,
    backtest_of,
    forecast_of,
)
from clinicflow.forecasting.demand.domain.model import DEFAULT, Engine
from clinicflow.forecasting.demand.domain.series import Visit
from clinicflow.forecasting.demand.errors import BadHorizon
from clinicflow.forecasting.demand.guard import PlanningGuard
from clinicflow.forecasting.demand.ports import LakeFiles, ModelSettings
from clinicflow.forecasting.demand.queries import LakeHistory
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock

__all__ = ["MODEL", "WEEKS", "DemandForecasts", "read_visits"]
WEEKS = 8


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
    engine: Engine = DEFAULT  # without a registry entry
    settings: ModelSettings | None = None  # the registry's latest entries
    _cache: dict[tuple[str, date, int, Engine], DemandForecast] = field(default_factory=dict)

    async def current(self) -> Engine:
        """The latest registry entry's engine settings, else this service's own."""
        found = await self.settings.engine() if self.settings is not None else None
        return found or self.engine

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
        engine = await self.current()
        key = (by, self.today(), weeks, engine)
        cached = self._cache.get(key)
        if cached is None:
            cached = self.predict(await self.visits(), by, weeks, engine)
            self._cache = {key: cached, **{k: v for k, v in self._cache.items() if k[1] == key[1]}}
        return cached

    def predict(
        self, visits: list[Visit], by: str, weeks: int, engine: Engine | None = None
    ) -> DemandForecast:
        """The forecast from `visits` (pure but for the catalog): yesterday is the last day
        known; the weeks run from the first Monday after it."""
        as_of = self.today() - timedelta(days=1)
        practitioners = self.catalog.practitioners.values()
        tz = self.catalog.clinic.tz
        return forecast_of(visits, practitioners, tz, as_of, by, weeks, engine or self.engine)

    async def backtest(self, actor: Actor, by: str = "service") -> Backtest:
        await self.guard.forecasts(actor)
        return self.backtest_of(await self.visits(), by, await self.current())

    def backtest_of(
        self, visits: list[Visit], by: str = "service", engine: Engine | None = None
    ) -> Backtest:
        last = self.today() - timedelta(days=1)
        return backtest_of(visits, self.catalog.clinic.tz, last, by, engine or self.engine)
