"""Daily booking volume per service (and per practitioner) from booked visits, in the
clinic's local days; weekly sums (weeks start on Monday); the error measures of a backtest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SEASON = 7  # days: the weekly pattern, and seasonal-naive's "same weekday last week"


@dataclass(frozen=True, slots=True)
class Visit:
    """A booking made: its time taken (attended, missed or still to come) unless
    `cancelled_at`; when it was made and when cancelled tell what was on the books when."""

    service: str
    practitioner: str
    start: datetime
    end: datetime
    created_at: datetime
    cancelled_at: datetime | None = None

    @property
    def minutes(self) -> int:
        return max(0, int((self.end - self.start).total_seconds() // 60))


@dataclass(frozen=True, slots=True)
class Series:
    """One series: `key` is a service, or `service/practitioner`; `values[i]` is the count
    of visits on `start + i days`."""

    key: str
    start: date
    values: tuple[float, ...]

    @property
    def end(self) -> date:  # the last day
        return self.start + timedelta(days=len(self.values) - 1)


def daily(
    visits: Iterable[Visit], tz: ZoneInfo, first: date, last: date, *, by_practitioner: bool
) -> list[Series]:
    """Visits a day per service (or per service and practitioner) from `first` to `last`
    (both included), days without a visit as 0; only series with a visit in the span."""
    days = (last - first).days + 1
    counts: dict[str, list[float]] = {}
    for visit in visits:
        day = visit.start.astimezone(tz).date()
        if visit.cancelled_at is not None or not first <= day <= last:
            continue
        key = f"{visit.service}/{visit.practitioner}" if by_practitioner else visit.service
        counts.setdefault(key, [0.0] * days)[(day - first).days] += 1
    return [Series(key, first, tuple(counts[key])) for key in sorted(counts)]


def mean_minutes(visits: Iterable[Visit]) -> dict[str, float]:
    """The mean length of a visit per service: a forecast count times it is booked time."""
    total: dict[str, list[int]] = {}
    for visit in (v for v in visits if v.cancelled_at is None):
        total.setdefault(visit.service, []).append(visit.minutes)
    return {k: sum(v) / len(v) for k, v in total.items() if v}


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(days: Sequence[date], values: Sequence[float]) -> dict[date, float]:
    """Sums by week (its Monday)."""
    out: dict[date, float] = {}
    for day, value in zip(days, values, strict=True):
        out[week_of(day)] = out.get(week_of(day), 0.0) + value
    return out


def seasonal_naive_scale(train: Sequence[float], season: int = SEASON) -> float:
    """MASE's denominator: the in-sample mean absolute error of "same weekday last week"."""
    diffs = [abs(a - b) for a, b in zip(train[season:], train[:-season], strict=False)]
    return sum(diffs) / len(diffs) if diffs else 0.0


def mae(actual: Sequence[float], predicted: Sequence[float]) -> float:
    pairs = list(zip(actual, predicted, strict=True))
    return sum(abs(a - p) for a, p in pairs) / len(pairs) if pairs else 0.0


@dataclass(frozen=True, slots=True)
class WindowError:
    """One backtest window of one series: the model's and seasonal-naive's errors."""

    key: str
    cutoff: date  # the last day trained on
    mae: float
    naive_mae: float
    scale: float  # seasonal-naive's in-sample MAE on the training days


def mase(errors: Iterable[WindowError]) -> float:
    """Mean absolute scaled error over the windows (each window's MAE over its training
    span's seasonal-naive MAE, averaged); windows whose training span is constant are left
    out (nothing to scale by)."""
    scaled = [e.mae / e.scale for e in errors if e.scale > 0]
    return sum(scaled) / len(scaled) if scaled else float("nan")


def naive_mase(errors: Iterable[WindowError]) -> float:
    """The same measure for seasonal-naive itself, on the same windows."""
    scaled = [e.naive_mae / e.scale for e in errors if e.scale > 0]
    return sum(scaled) / len(scaled) if scaled else float("nan")


def by_key(errors: Iterable[WindowError]) -> Mapping[str, list[WindowError]]:
    out: dict[str, list[WindowError]] = {}
    for error in errors:
        out.setdefault(error.key, []).append(error)
    return out
