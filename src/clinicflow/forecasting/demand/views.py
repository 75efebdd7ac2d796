"""What the demand use cases answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
