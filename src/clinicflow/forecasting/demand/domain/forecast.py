"""The demand forecast and its backtest from the lake's visits, pure (no clock, no lake):
`DemandForecasts` (the route) and `ModelTraining` (`clinicflow ml`, the registry) both
answer through these, with the last day they take as known."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from clinicflow.catalog import Practitioner
from clinicflow.forecasting.demand.domain.capacity import weekly_capacity
from clinicflow.forecasting.demand.domain.model import (
    DEFAULT,
    MIN_DAYS,
    DayForecast,
    Engine,
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
from clinicflow.forecasting.demand.errors import NotEnoughHistory

MODEL = "booked + pickup (8-week weekday mean)"
WINDOWS = 8  # the backtest's weekly origins
BY = ("service", "practitioner")


@dataclass(frozen=True, slots=True)
class DayDemand:
    key: str  # a service, or service/practitioner
    day: date
    booked: int  # already on the books
    visits: float  # forecast
    visits_lo: float  # 80% interval
    visits_hi: float


@dataclass(frozen=True, slots=True)
class WeekDemand:
    key: str
    week: date  # its Monday
    visits: float
    visits_lo: float
    visits_hi: float
    demand_min: float | None  # by service only: forecast visits × mean visit length
    capacity_min: int | None  # offered minutes from the catalog's hours
    over_capacity: bool


@dataclass(frozen=True, slots=True)
class DemandForecast:
    by: str  # service | practitioner
    as_of: date  # the last day whose visits are known
    model: str
    days: tuple[DayDemand, ...]
    weeks: tuple[WeekDemand, ...]


@dataclass(frozen=True, slots=True)
class Backtest:
    """Rolling-origin backtest: `windows` weekly cutoffs, each forecasting the next 7 days."""

    mase: float  # the model
    naive_mase: float  # seasonal-naive (same weekday last week), same windows and scale
    ets_mase: float  # statsforecast's AutoETS (weekly season) alone, same windows
    windows: int
    series: int
    first_cutoff: date
    last_cutoff: date


def _past(visits: Iterable[Visit], tz: ZoneInfo, as_of: date) -> tuple[list[Visit], date]:
    past = [v for v in visits if v.start.astimezone(tz).date() <= as_of]
    if not past:
        raise NotEnoughHistory("the lake holds no visits yet")
    return past, min(v.start for v in past).astimezone(tz).date()


def forecast_of(
    visits: Sequence[Visit],
    practitioners: Iterable[Practitioner],
    tz: ZoneInfo,
    as_of: date,
    by: str,
    weeks: int,
    engine: Engine = DEFAULT,
) -> DemandForecast:
    """The forecast from `visits`: `as_of` is the last day known; the weeks run from the
    first Monday after it."""
    past, first = _past(visits, tz, as_of)
    if (as_of - first).days + 1 < MIN_DAYS:
        raise NotEnoughHistory(f"forecasts need {MIN_DAYS} days of visits in the lake")
    booked = books(visits, tz, by_practitioner=by == "practitioner")
    start = week_of(as_of + timedelta(days=7))  # next Monday (tomorrow, if Monday)
    horizon = (start - as_of).days + 7 * weeks - 1
    days: list[DayForecast] = []
    for book in booked.values():
        days += [d for d in forecast(book, as_of, horizon, engine) if d.day >= start]
    capacity = weekly_capacity(practitioners, start, 7 * weeks, tz)
    minutes = mean_minutes(past)
    weeks_out: list[WeekDemand] = []
    for key in booked:
        mine = [d for d in days if d.key == key]
        for n in range(weeks):
            monday = start + timedelta(days=7 * n)
            week = [d for d in mine if week_of(d.day) == monday]
            mean, lo, hi = weekly_interval(week, engine)
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


def backtest_of(
    visits: Sequence[Visit],
    tz: ZoneInfo,
    last: date,
    by: str = "service",
    engine: Engine = DEFAULT,
    *,
    reference: bool = True,
) -> Backtest:
    """The rolling-origin backtest with `last` the last day known (`WINDOWS` origins);
    `reference`: AutoETS scored on the same windows too."""
    past, first = _past(visits, tz, last)
    split = by == "practitioner"
    series = daily(past, tz, first, last, by_practitioner=split)
    errors = backtest(books(visits, tz, by_practitioner=split), series, WINDOWS, engine)
    if not errors:
        raise NotEnoughHistory(f"a backtest needs {MIN_DAYS + 7 * WINDOWS} days of visits")
    ets = backtest_ets(series, WINDOWS) if reference else []
    cut = sorted({e.cutoff for e in errors})
    return Backtest(
        mase=round(mase(errors), 4),
        naive_mase=round(naive_mase(errors), 4),
        ets_mase=round(mase(ets), 4) if ets else math.nan,
        windows=WINDOWS,
        series=len({e.key for e in errors}),
        first_cutoff=cut[0],
        last_cutoff=cut[-1],
    )
