"""What a metric is, and the pure parts of the metrics (docs/analytics.md "Metrics"): the
shape of a metric's definition (its SQL lives in its family's `queries.py`, written with
domain/metric_sql.py; `METRICS` in analytics/queries.py gathers them), the checks on a
question, the supply of offered minutes worked out from the catalog's hours, the lead-time
bands and the small-cell rule. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

# A metric's answer never names a person: these columns exist in the lake, never in an answer.
PERSON_COLUMNS = frozenset({"patient_key", "contact_key"})
BOOKED = ("confirmed", "checked_in", "completed", "no_show")  # the visit's time was taken
ATTENDED = ("checked_in", "completed")
# Lead time (booking made → visit start), in days: [lower, upper) and the band's name.
LEAD_TIME_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 1, "0-1d"),
    (1, 7, "1-7d"),
    (7, 30, "7-30d"),
    (30, None, "30d+"),
)
MAX_DAYS = 731  # a question spans at most two years


class Kind(Enum):
    TEXT = "text"
    INT = "int"
    RATE = "rate"  # a share, 0..1, four decimals
    NUMBER = "number"  # any other decimal (days, cents per visit)
    DATE = "date"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class View:
    """One table a metric answers: the dimensions it may be grouped by (`default` when none
    is asked) and its measures, in order. `sql(dims)` builds the DuckDB query."""

    dims: tuple[Column, ...]
    default: tuple[str, ...]
    measures: tuple[Column, ...]

    def dim(self, name: str) -> Column | None:
        return next((d for d in self.dims if d.name == name), None)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    summary: str
    views: Mapping[str, View]  # the first is the default
    int_params: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # name → range
    # The column counting people that guards its row: below the threshold, the row's
    # measures are withheld (`suppressed`). None: the metric's cells are not about places.
    people: str | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """A checked question: the metric, its view, the grouping, the local days [lo, hi]."""

    metric: Metric
    view: str
    group_by: tuple[str, ...]
    lo: date
    hi: date
    ints: Mapping[str, int]

    @property
    def columns(self) -> tuple[Column, ...]:
        shape = self.metric.views[self.view]
        dims = tuple(d for name in self.group_by if (d := shape.dim(name)) is not None)
        return dims + shape.measures


def may_read(role: str) -> bool:
    """Metrics are for analysts and admins: aggregates, never a person."""
    return role in READERS


READERS = frozenset({"analyst", "admin"})


class BadQuestion(ValueError):
    """A question the metric cannot answer; the message says why (422)."""


def question(
    metric: Metric,
    lo: date,
    hi: date,
    group_by: Sequence[str] | None,
    params: Mapping[str, str],
) -> Question:
    """`metric` asked over the local days [lo, hi], grouped by `group_by` (None: the view's
    default), with its `params` (`view`, and the metric's own)."""
    if hi < lo:
        raise BadQuestion("`to` is before `from`")
    if (hi - lo).days >= MAX_DAYS:
        raise BadQuestion(f"a question spans at most {MAX_DAYS} days")
    view = params.get("view") or next(iter(metric.views))
    shape = metric.views.get(view)
    if shape is None:
        raise BadQuestion(f"{metric.name} has the views {', '.join(metric.views)}, not {view!r}")
    dims = tuple(shape.default if group_by is None else group_by)
    unknown = [d for d in dims if shape.dim(d) is None]
    if unknown or len(set(dims)) != len(dims):
        allowed = ", ".join(d.name for d in shape.dims) or "nothing"
        raise BadQuestion(f"{metric.name} ({view}) is grouped by {allowed}; not {dims!r}")
    ints: dict[str, int] = {}
    for name, raw in params.items():
        if name == "view":
            continue
        if name not in metric.int_params:
            raise BadQuestion(f"{metric.name} takes no parameter {name!r}")
        low, high = metric.int_params[name]
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise BadQuestion(f"{name} is a whole number from {low} to {high}")
        ints[name] = int(raw)
    return Question(metric, view, dims, lo, hi, ints)


def lead_time_case(days: str) -> str:
    """The SQL CASE naming the band of `days` (an expression in days), from LEAD_TIME_BANDS."""
    arms = [
        f"WHEN {days} < {upper} THEN '{name}'"
        for _, upper, name in LEAD_TIME_BANDS
        if upper is not None
    ]
    return f"CASE {' '.join(arms)} ELSE '{LEAD_TIME_BANDS[-1][2]}' END"


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a metric reads besides the lake."""

    tz: str  # the clinic's IANA zone: days, weeks and months are local
    supply: Sequence[Offered] = ()
    offers: Sequence[tuple[str, str]] = ()  # (practitioner, service)
    prices: Sequence[tuple[str, str, int]] = ()  # (service, visit type, list price in cents)
    views: Sequence[tuple[date, str, int]] = ()  # (local day, service, availability views)
    churn_days: Mapping[str, int] = field(default_factory=dict)  # per service
    churn_default: int = 90
    late_cancel_hours: int = 24  # a cancellation later than this before the start is late


# -- supply: the minutes each practitioner offered -----------------------------------------

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Hours:
    """One practitioner's working time as the catalog gives it (wall-clock, clinic zone)."""

    practitioner: str
    services: tuple[str, ...]
    weekly: Mapping[int, Sequence[tuple[time, time]]]  # 0 = Monday
    exceptions: Mapping[date, Sequence[tuple[time, time]]]
    time_off: Sequence[Span]


@dataclass(frozen=True, slots=True)
class Offered:
    practitioner: str
    day: date
    minutes: int


def offered_minutes(
    hours: Iterable[Hours],
    lo: date,
    hi: date,
    tz: ZoneInfo,
    busy: Mapping[str, Sequence[Span]],
) -> list[Offered]:
    """Each practitioner's offered minutes per local day in [lo, hi]: working hours (the
    date's exception, else the weekday's) less time off less external busy time (`busy`)."""
    out: list[Offered] = []
    for h in hours:
        away = _merged([*h.time_off, *busy.get(h.practitioner, ())])
        day = lo
        while day <= hi:
            spans = h.exceptions.get(day)
            if spans is None:
                spans = h.weekly.get(day.weekday(), ())
            work = _merged(
                (datetime.combine(day, a, tz), datetime.combine(day, b, tz)) for a, b in spans
            )
            minutes = sum(_minutes(_less(span, away)) for span in work)
            if minutes:
                out.append(Offered(h.practitioner, day, minutes))
            day += timedelta(days=1)
    return out


def _merged(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _less(span: Span, away: Sequence[Span]) -> list[Span]:
    left = [span]
    for a, b in away:
        left = [
            piece
            for start, end in left
            for piece in ((start, min(end, a)), (max(start, b), end))
            if piece[0] < piece[1]
        ]
    return left


def _minutes(spans: Iterable[Span]) -> int:
    return sum(int((end - start).total_seconds() // 60) for start, end in spans)


def suppressed(count: int | None, threshold: int) -> bool:
    """A count of people below `threshold` (and above zero) is not shown: a small cell in a
    small area can point at someone."""
    return count is not None and 0 < count < threshold
