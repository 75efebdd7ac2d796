"""Capacity from the catalog's working hours: each practitioner's minutes a day (the date's
exception, else the weekday's hours, less time off), summed per week and per service they
offer; and the weeks where the forecast asks for more than that."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicflow.catalog import Practitioner
from clinicflow.forecasting.demand.domain.series import week_of


def _span(day: date, a: time, b: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(day, a, tz), datetime.combine(day, b, tz)


def day_minutes(practitioner: Practitioner, day: date, tz: ZoneInfo) -> int:
    """Working minutes on `day`, less the practitioner's time off."""
    hours = practitioner.exceptions.get(day)
    if hours is None:
        hours = practitioner.weekly_hours.get(day.weekday(), ())
    total = 0
    for interval in hours:
        start, end = _span(day, interval.start, interval.end, tz)
        for off in practitioner.time_off:
            lo, hi = max(start, off.start), min(end, off.end)
            if lo < hi:
                total -= int((hi - lo).total_seconds() // 60)
        total += int((end - start).total_seconds() // 60)
    return max(total, 0)


def weekly_capacity(
    practitioners: Iterable[Practitioner], first: date, days: int, tz: ZoneInfo
) -> dict[tuple[str, date], int]:
    """Offered minutes per (service, week) from `first` for `days` days. A practitioner
    offering two services counts their hours for each (as analytics' utilization does)."""
    out: dict[tuple[str, date], int] = {}
    for p in practitioners:
        for n in range(days):
            day = first + timedelta(days=n)
            minutes = day_minutes(p, day, tz)
            for service in p.services:
                key = (service, week_of(day))
                out[key] = out.get(key, 0) + minutes
    return out


@dataclass(frozen=True, slots=True)
class WeekLoad:
    service: str
    week: date  # its Monday
    visits: float  # forecast visits
    visits_lo: float
    visits_hi: float
    demand_min: float  # forecast visits × the service's mean visit length
    capacity_min: int
    over: bool  # the forecast's booked minutes pass the offered minutes


def flag_weeks(
    forecast: Mapping[tuple[str, date], tuple[float, float, float]],
    minutes: Mapping[str, float],
    capacity: Mapping[tuple[str, date], int],
) -> list[WeekLoad]:
    """Each (service, week) of the forecast beside its capacity, flagged when the point
    forecast's minutes exceed it (a hiring or launch signal)."""
    out = []
    for (service, week), (mean, lo, hi) in sorted(forecast.items()):
        demand = mean * minutes.get(service, 0.0)
        cap = capacity.get((service, week), 0)
        out.append(WeekLoad(service, week, mean, lo, hi, demand, cap, demand > cap))
    return out
