"""A week to plan, and the greedy rule a front desk would follow on it.

Time is cut into hour slots from each practitioner's possible hours (the catalog's weekly
hours, or the date's exception, less time off); a slot is worked for one service the
practitioner offers, or not at all. Demand is minutes of visits per service and day (the
forecast's visits times the service's mean visit length); a service's minutes served on a
day are the lesser of its demand and the minutes worked for it. The clinic's rules cap a
practitioner's hours a day and a week.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicflow.catalog import Practitioner

SLOT_MIN = 60


@dataclass(frozen=True, slots=True)
class Rules:
    """The clinic's rules for a proposal (docs/ml-planning.md)."""

    max_week_hours: int = 24  # contracted hours a practitioner works in a week, at most
    max_day_hours: int = 6
    continuity_weight: int = 10  # per hour worked × the practitioner's share of regulars,
    # against 100 per minute of demand served: served demand always comes first


@dataclass(frozen=True, slots=True)
class Slot:
    practitioner: str
    day: date
    start: datetime
    services: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Week:
    monday: date
    slots: tuple[Slot, ...]
    demand: Mapping[tuple[str, date], int]  # minutes of visits asked for
    minutes: Mapping[str, float]  # mean visit length per service
    regulars: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (p, s) → share

    def practitioners(self) -> list[str]:
        return list(dict.fromkeys(s.practitioner for s in self.slots))


def possible_slots(
    practitioners: Sequence[Practitioner], monday: date, tz: ZoneInfo, services: set[str]
) -> list[Slot]:
    """Whole hours inside each practitioner's hours that week (time off removed), for the
    services in `services` they offer."""
    out: list[Slot] = []
    for p in practitioners:
        offered = tuple(s for s in p.services if s in services)
        if not offered:
            continue
        for n in range(7):
            day = monday + timedelta(days=n)
            hours = p.exceptions.get(day)
            if hours is None:
                hours = p.weekly_hours.get(day.weekday(), ())
            for interval in hours:
                start = datetime.combine(day, interval.start, tz)
                end = datetime.combine(day, interval.end, tz)
                while start + timedelta(minutes=SLOT_MIN) <= end:
                    stop = start + timedelta(minutes=SLOT_MIN)
                    if not any(o.start < stop and start < o.end for o in p.time_off):
                        out.append(Slot(p.key, day, start, offered))
                    start = stop
    return out


@dataclass(frozen=True, slots=True)
class Shift:
    """One proposed hour: who, when, for what."""

    practitioner: str
    start: datetime
    service: str


@dataclass(frozen=True, slots=True)
class Plan:
    shifts: tuple[Shift, ...]
    served_minutes: Mapping[tuple[str, date], int]

    def served_visits(self, minutes: Mapping[str, float]) -> float:
        """Expected visits served: each service's minutes over its mean visit length."""
        return sum(m / minutes[s] for (s, _), m in self.served_minutes.items() if minutes.get(s))

    def continuity(self, regulars: Mapping[tuple[str, str], float]) -> float:
        """Hours worked weighted by the practitioner's share of the service's regulars."""
        return sum(regulars.get((h.practitioner, h.service), 0.0) for h in self.shifts)


def served(week: Week, shifts: Sequence[Shift]) -> dict[tuple[str, date], int]:
    worked: dict[tuple[str, date], int] = {}
    for h in shifts:
        key = (h.service, h.start.date())
        worked[key] = worked.get(key, 0) + SLOT_MIN
    return {k: min(d, worked.get(k, 0)) for k, d in week.demand.items()}


def greedy(week: Week, rules: Rules) -> Plan:
    """The front desk's rule: practitioners in the catalog's order, each working their
    earliest hours first; each hour goes to the service of theirs with the most demand still
    unmet that day, and is not worked when none has any; until the day's and week's caps."""
    unmet = dict(week.demand)
    shifts: list[Shift] = []
    used_week: dict[str, int] = {}
    used_day: dict[tuple[str, date], int] = {}
    order = {p: i for i, p in enumerate(week.practitioners())}
    for slot in sorted(week.slots, key=lambda s: (order[s.practitioner], s.start)):
        p = slot.practitioner
        if used_week.get(p, 0) >= rules.max_week_hours:
            continue
        if used_day.get((p, slot.day), 0) >= rules.max_day_hours:
            continue
        best = max(slot.services, key=lambda s: unmet.get((s, slot.day), 0))
        if unmet.get((best, slot.day), 0) <= 0:
            continue
        unmet[(best, slot.day)] -= SLOT_MIN
        used_week[p] = used_week.get(p, 0) + 1
        used_day[(p, slot.day)] = used_day.get((p, slot.day), 0) + 1
        shifts.append(Shift(p, slot.start, best))
    return Plan(tuple(shifts), served(week, shifts))
