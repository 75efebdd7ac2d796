"""The demand model finds no pattern where none was planted (issue 19's honesty check for
the forecast, which has no labels to shuffle): on walk-in days drawn alike for every
weekday (nothing on the books ahead, no weekly shape) it does no better than the plain mean
of the days before the cutoff, the forecast of someone who knows nothing; with a weekly
shape planted, the same backtest shows it found it (so the check can fail)."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicflow.forecasting.demand.domain.model import backtest, cutoffs
from clinicflow.forecasting.demand.domain.pickup import books
from clinicflow.forecasting.demand.domain.series import SEASON, Visit, daily, mae

TZ = ZoneInfo("America/Chicago")
FIRST, DAYS, WINDOWS = date(2026, 3, 2), 160, 8


def _poisson(rng: random.Random, mean: float) -> int:
    k, p, limit = 0, rng.random(), 2.718281828459045**-mean
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _walk_ins(seed: int, weekday_means: tuple[float, ...]) -> list[Visit]:
    """Visits booked on their own day (nothing known ahead), a day's count drawn from the
    weekday's mean, for three services."""
    rng = random.Random(seed)
    out = []
    for service in ("a", "b", "c"):
        for n in range(DAYS):
            day = FIRST + timedelta(days=n)
            for _ in range(_poisson(rng, weekday_means[day.weekday()])):
                start = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
                out.append(Visit(service, "p", start, start + timedelta(minutes=30), start))
    return out


def _against_the_mean(visits: list[Visit]) -> float:
    """The model's backtest MAE over that of the training days' plain mean, same windows."""
    last = FIRST + timedelta(days=DAYS - 1)
    series = daily(visits, TZ, FIRST, last, by_practitioner=False)
    errors = backtest(books(visits, TZ, by_practitioner=False), series, WINDOWS)
    plain = []
    for s in series:
        for cutoff in cutoffs(s.end, WINDOWS):
            n = (cutoff - s.start).days + 1
            mean = statistics.fmean(s.values[:n])
            plain.append(mae(list(s.values[n : n + SEASON]), [mean] * SEASON))
    assert len(errors) == len(plain) == 3 * WINDOWS
    return sum(e.mae for e in errors) / sum(plain)


def test_on_days_with_no_pattern_the_forecast_is_no_better_than_the_plain_mean() -> None:
    flat = (6.0,) * 7
    ratios = [_against_the_mean(_walk_ins(seed, flat)) for seed in range(5)]
    assert statistics.fmean(ratios) >= 0.97, ratios


def test_with_a_weekly_shape_planted_the_same_check_sees_it_found() -> None:
    shaped = (9.0, 7.0, 6.0, 7.0, 9.0, 2.0, 0.5)
    ratios = [_against_the_mean(_walk_ins(seed, shaped)) for seed in range(5)]
    assert statistics.fmean(ratios) < 0.8, ratios
