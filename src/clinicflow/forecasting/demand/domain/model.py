"""The demand model and its backtest. The model: what is on the books for a day plus the
usual pickup (`pickup.py`), with an 80% interval. The backtest: rolling origins a week
apart, each forecasting the next 7 days from what was known at the cutoff, against
seasonal-naive (the same weekday last week); statsforecast's AutoETS with a weekly season on
the counts alone is scored on the same windows as a reference (on a small clinic's counts of
a few visits a day it does no better than seasonal-naive: docs/ml-planning.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING

from clinicflow.forecasting.demand.domain.pickup import WEEKS, Book, predict
from clinicflow.forecasting.demand.domain.series import (
    SEASON,
    Series,
    WindowError,
    mae,
    seasonal_naive_scale,
)

if TYPE_CHECKING:
    import pandas as pd
    from statsforecast import StatsForecast

LEVEL = 80  # the prediction interval shown: 80%
Z80 = 1.2815515655446004  # the normal quantile of 90%: an 80% interval's half-width in sigmas
MIN_DAYS = 9 * SEASON  # the pickup's 8 weeks, and a week to start from


@dataclass(frozen=True, slots=True)
class Engine:
    """The demand model's settings, as the registry keeps them (there is nothing fitted:
    the forecast is computed from the books each time): the weeks of the same weekday the
    pickup is averaged over, and the interval's level in percent."""

    pickup_weeks: int = WEEKS
    level: int = LEVEL

    def __post_init__(self) -> None:
        if not 1 <= self.pickup_weeks <= WEEKS:
            raise ValueError(f"pickup_weeks: 1 to {WEEKS}")
        if not 50 <= self.level < 100:
            raise ValueError("level: 50 to 99 (percent)")

    @property
    def z(self) -> float:
        """The interval's half-width in standard deviations."""
        return Z80 if self.level == LEVEL else NormalDist().inv_cdf(0.5 + self.level / 200)

    def parts(self) -> dict[str, object]:
        return dict(asdict(self))

    @classmethod
    def of(cls, parts: Mapping[str, object]) -> Engine:
        weeks, level = parts.get("pickup_weeks", WEEKS), parts.get("level", LEVEL)
        if not isinstance(weeks, int) or not isinstance(level, int):
            raise ValueError("a demand engine's pickup_weeks and level are integers")
        return cls(weeks, level)


DEFAULT = Engine()


@dataclass(frozen=True, slots=True)
class DayForecast:
    key: str
    day: date
    mean: float
    lo: float  # the 80% interval, never below 0
    hi: float


def _frame(series: Sequence[Series]) -> pd.DataFrame:
    import pandas as pd  # heavy: imported when first used

    parts = []
    for s in series:
        days = pd.date_range(s.start.isoformat(), periods=len(s.values), freq="D")
        parts.append(pd.DataFrame({"unique_id": s.key, "ds": days, "y": list(s.values)}))
    return pd.concat(parts, ignore_index=True)


def _engine() -> StatsForecast:
    from statsforecast import StatsForecast  # heavy: imported when first used
    from statsforecast.models import AutoETS

    return StatsForecast(models=[AutoETS(season_length=SEASON)], freq="D", n_jobs=1)


def forecast(book: Book, cutoff: date, horizon: int, engine: Engine = DEFAULT) -> list[DayForecast]:
    """`horizon` days after `cutoff`: on the books plus the usual pickup, with an 80%
    interval (the engine's level) from the pickup's spread (never below 0)."""
    days = days_after(cutoff, horizon)
    out = []
    for day, (mean, spread) in zip(
        days, predict(book, cutoff, days, engine.pickup_weeks), strict=True
    ):
        half = engine.z * spread
        out.append(DayForecast(book.key, day, mean, max(mean - half, 0.0), mean + half))
    return out


def weekly_interval(
    days: Sequence[DayForecast], engine: Engine = DEFAULT
) -> tuple[float, float, float]:
    """A week's total with an 80% interval (the engine's level): each day's spread read off
    its interval, the days taken as independent (their variances add)."""
    mean = sum(d.mean for d in days)
    var = sum(((d.hi - d.lo) / (2 * engine.z)) ** 2 for d in days)
    half = engine.z * math.sqrt(var)
    return mean, max(mean - half, 0.0), mean + half


def cutoffs(last: date, windows: int) -> list[date]:
    """Rolling origins a week apart; the last leaves a whole week before `last`."""
    return [last - timedelta(days=SEASON * (windows - w)) for w in range(windows)]


def backtest(
    books: dict[str, Book], series: Sequence[Series], windows: int, engine: Engine = DEFAULT
) -> list[WindowError]:
    """The model at each rolling origin: the days up to the cutoff (and the books as they
    stood at its end) only, scored on the next 7 days, beside seasonal-naive."""
    errors: list[WindowError] = []
    for s in series:
        if len(s.values) < MIN_DAYS + windows * SEASON or s.key not in books:
            continue
        for cutoff in cutoffs(s.end, windows):
            n = (cutoff - s.start).days + 1
            days = days_after(cutoff, SEASON)
            actual = list(s.values[n : n + SEASON])
            naive = list(s.values[n - SEASON : n])
            predicted = [f.mean for f in forecast(books[s.key], cutoff, SEASON, engine)]
            errors.append(
                WindowError(
                    key=s.key,
                    cutoff=cutoff,
                    mae=mae(actual, predicted[: len(days)]),
                    naive_mae=mae(actual, naive),
                    scale=seasonal_naive_scale(list(s.values[:n])),
                )
            )
    return errors


def backtest_ets(series: Sequence[Series], windows: int) -> list[WindowError]:
    """statsforecast's AutoETS (weekly season) on the daily counts alone, on the same
    rolling origins: the reference the booking-aware model is compared with."""
    import pandas as pd  # heavy: imported when first used
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    usable = [s for s in series if len(s.values) >= MIN_DAYS + windows * SEASON]
    if not usable:
        return []
    engine = StatsForecast(
        models=[AutoETS(season_length=SEASON), SeasonalNaive(season_length=SEASON)],
        freq="D",
        n_jobs=1,
    )
    cv = engine.cross_validation(
        df=_frame(usable), h=SEASON, n_windows=windows, step_size=SEASON, refit=True
    )
    values = {s.key: s for s in usable}
    errors: list[WindowError] = []
    for (key, cutoff), group in cv.groupby(["unique_id", "cutoff"], sort=True):
        s = values[str(key)]
        last = pd.Timestamp(cutoff).date()
        train = s.values[: (last - s.start).days + 1]
        actual = [float(v) for v in group["y"]]
        errors.append(
            WindowError(
                key=str(key),
                cutoff=last,
                mae=mae(actual, [max(float(v), 0.0) for v in group["AutoETS"]]),
                naive_mae=mae(actual, [float(v) for v in group["SeasonalNaive"]]),
                scale=seasonal_naive_scale(list(train)),
            )
        )
    return errors


def days_after(last: date, horizon: int) -> list[date]:
    return [last + timedelta(days=n) for n in range(1, horizon + 1)]
