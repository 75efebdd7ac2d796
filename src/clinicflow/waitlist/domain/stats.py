"""Waitlist statistics from plain rows: sizes, weekly growth, distributions, the funnel and
the conversion potential. No row here carries anything that identifies a person.

Definitions (docs/waitlist.md repeats them for staff):
- size: entries still on the list (waiting, invited or offered).
- growth: joins per ISO week (Monday–Sunday, in the clinic's time zone), zero-filled.
- by ZIP3 and by distance band: over the entries on the list. ZIP3 areas of fewer than
  20,000 people are reported as "000", as HIPAA's Safe Harbor rule requires.
- funnel: entries stamped notified, clicked, booked, paid; each rate is the share of the
  entries that reached one stage which also reached the next (None when none reached it).
- conversion rate: of the entries ever notified, the share that booked. The service's own
  when it has notified anyone, else the clinic's across services, else None.
- conversion potential: entries waiting × that rate (None without a rate).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol

from clinicflow.waitlist.domain.geo import band_names, distance_band
from clinicflow.waitlist.domain.states import QUEUED, STAGES, STATUSES, Status

# HHS Safe Harbor guidance (45 CFR 164.514(b)(2)(i)(B)): three-digit ZIP areas with 20,000
# people or fewer, by the Census figures the guidance cites.
RESTRICTED_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831",
     "878", "879", "884", "890", "893"}
)  # fmt: skip
TRANSITIONS: tuple[tuple[str, str], ...] = tuple(itertools.pairwise(STAGES))


@dataclass(frozen=True, slots=True)
class StatRow:
    status: str
    joined_on: date  # the local date of joining
    zip3: str
    distance_mi: float | None
    notified_at: datetime | None = None
    clicked_at: datetime | None = None
    booked_at: datetime | None = None
    paid_at: datetime | None = None

    def reached(self, stage: str) -> bool:
        return getattr(self, f"{stage}_at") is not None


class Stamped(Protocol):
    """An entry as the statistics read it: its status, join time, area and stage times (the
    SQL row of waitlist/stats/queries.py, or an `Entry`)."""

    @property
    def status(self) -> str: ...
    @property
    def joined_at(self) -> datetime: ...
    @property
    def zip3(self) -> str: ...
    @property
    def distance_mi(self) -> int | None: ...
    @property
    def notified_at(self) -> datetime | None: ...
    @property
    def clicked_at(self) -> datetime | None: ...
    @property
    def booked_at(self) -> datetime | None: ...
    @property
    def paid_at(self) -> datetime | None: ...


def stat_row(entry: Stamped, tz: tzinfo) -> StatRow:
    """The entry's row for the statistics, its join dated in the clinic's time zone `tz`."""
    return StatRow(
        status=entry.status,
        joined_on=entry.joined_at.astimezone(tz).date(),
        zip3=entry.zip3,
        distance_mi=None if entry.distance_mi is None else float(entry.distance_mi),
        notified_at=entry.notified_at,
        clicked_at=entry.clicked_at,
        booked_at=entry.booked_at,
        paid_at=entry.paid_at,
    )


@dataclass(frozen=True, slots=True)
class WeekCount:
    week: str  # ISO week, "2026-W48"
    starts: date  # its Monday
    joins: int


@dataclass(frozen=True, slots=True)
class Funnel:
    counts: dict[str, int]  # stage → entries that reached it
    rates: dict[str, float | None]  # "notified_to_clicked" … → share, None when 0/0


@dataclass(frozen=True, slots=True)
class ServiceStats:
    service: str
    size: int
    by_state: dict[str, int]
    growth: list[WeekCount]
    by_zip3: dict[str, int]
    by_distance_band: dict[str, int]
    funnel: Funnel
    conversion_rate: float | None
    conversion_rate_basis: str | None  # "service" | "clinic" | None
    waiting: int
    conversion_potential: float | None


def ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def conversion_rate(rows: Iterable[StatRow]) -> float | None:
    notified = [r for r in rows if r.reached("notified")]
    return ratio(sum(1 for r in notified if r.reached("booked")), len(notified))


def safe_zip3(zip3: str) -> str:
    return "000" if zip3 in RESTRICTED_ZIP3 else zip3


def weekly_joins(joined: Iterable[date], today: date, weeks: int) -> list[WeekCount]:
    """The `weeks` ISO weeks ending with today's, oldest first."""
    current = today - timedelta(days=today.weekday())
    mondays = [current - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = Counter(d - timedelta(days=d.weekday()) for d in joined)
    out = []
    for monday in mondays:
        year, week, _ = monday.isocalendar()
        out.append(WeekCount(f"{year}-W{week:02d}", monday, counts.get(monday, 0)))
    return out


def funnel(rows: Sequence[StatRow]) -> Funnel:
    counts = {stage: sum(1 for r in rows if r.reached(stage)) for stage in STAGES}
    rates = {
        f"{a}_to_{b}": ratio(sum(1 for r in rows if r.reached(a) and r.reached(b)), counts[a])
        for a, b in TRANSITIONS
    }
    return Funnel(counts, rates)


def summarize(
    service: str,
    rows: Sequence[StatRow],
    *,
    today: date,
    weeks: int,
    bands: tuple[float, ...],
    clinic_rate: float | None,
) -> ServiceStats:
    listed = [r for r in rows if r.status in QUEUED]
    by_state = {s: 0 for s in STATUSES} | Counter(r.status for r in rows)
    by_band = {name: 0 for name in band_names(bands)}
    by_band |= Counter(distance_band(r.distance_mi, bands) for r in listed)
    own = conversion_rate(rows)
    rate, basis = (own, "service") if own is not None else (clinic_rate, "clinic")
    waiting = by_state[Status.WAITING.value]
    return ServiceStats(
        service=service,
        size=len(listed),
        by_state=by_state,
        growth=weekly_joins((r.joined_on for r in rows), today, weeks),
        by_zip3=dict(sorted(Counter(safe_zip3(r.zip3) for r in listed).items())),
        by_distance_band=by_band,
        funnel=funnel(rows),
        conversion_rate=rate,
        conversion_rate_basis=basis if rate is not None else None,
        waiting=waiting,
        conversion_potential=None if rate is None else waiting * rate,
    )
