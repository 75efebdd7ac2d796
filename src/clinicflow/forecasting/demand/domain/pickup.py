"""What is on the books, and what usually comes on top of it.

A day's visits are partly known in advance: follow-ups are booked at the end of the visit
before, first visits days ahead. For a day `k` days after the cutoff, the forecast is what
was on the books at the cutoff for that day plus the pickup: the mean, over the last weeks'
same weekday, of the visits that came on top of what was booked `k` days before (bookings
made later, less cancellations). Beyond the booking horizon nothing is on the books and the
pickup is the recent weekday average. Everything here is counted as of the cutoff: a day's
final count is used only once the day is over."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from clinicflow.forecasting.demand.domain.series import Visit

WEEKS = 8  # the pickup is averaged over this many weeks of the same weekday


@dataclass(frozen=True, slots=True)
class Book:
    """One series' bookings as days: start day, the day made, the day cancelled (or None)."""

    key: str
    rows: tuple[tuple[date, date, date | None], ...]
    # The rows by start day: a forecast asks about each day ~16 times (8 weeks, twice), and
    # a scan of every row each time made a year's backtest quadratic in the visits.
    _by_day: dict[date, tuple[tuple[date, date | None], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_day: dict[date, list[tuple[date, date | None]]] = {}
        for start, made, gone in self.rows:
            by_day.setdefault(start, []).append((made, gone))
        object.__setattr__(self, "_by_day", {d: tuple(r) for d, r in by_day.items()})

    def on_books(self, day: date, as_of: date) -> int:
        """Visits on `day` booked by the end of `as_of` and not cancelled by then."""
        return sum(
            1
            for made, gone in self._by_day.get(day, ())
            if made <= as_of and (gone is None or gone > as_of)
        )

    def final(self, day: date) -> int:
        return sum(1 for _, gone in self._by_day.get(day, ()) if gone is None)


def books(visits: Iterable[Visit], tz: ZoneInfo, *, by_practitioner: bool) -> dict[str, Book]:
    rows: dict[str, list[tuple[date, date, date | None]]] = {}
    for v in visits:
        key = f"{v.service}/{v.practitioner}" if by_practitioner else v.service
        gone = None if v.cancelled_at is None else v.cancelled_at.astimezone(tz).date()
        rows.setdefault(key, []).append(
            (v.start.astimezone(tz).date(), v.created_at.astimezone(tz).date(), gone)
        )
    return {k: Book(k, tuple(r)) for k, r in sorted(rows.items())}


@dataclass(frozen=True, slots=True)
class Pickup:
    mean: float
    spread: float  # the standard deviation of what came on top, over the weeks averaged


def pickup(book: Book, cutoff: date, lead: int, weekday: int, weeks: int = WEEKS) -> Pickup:
    """What came on top of the books `lead` days ahead, on the last `weeks` days of
    `weekday` that were over by `cutoff`."""
    extra: list[float] = []
    day = cutoff - timedelta(days=(cutoff.weekday() - weekday) % 7 or 7)
    while len(extra) < weeks:
        as_of = day - timedelta(days=lead)
        extra.append(float(book.final(day) - book.on_books(day, as_of)))
        day -= timedelta(days=7)
    mean = sum(extra) / len(extra)
    var = sum((e - mean) ** 2 for e in extra) / max(len(extra) - 1, 1)
    return Pickup(mean, var**0.5)


def predict(
    book: Book, cutoff: date, days: Sequence[date], weeks: int = WEEKS
) -> list[tuple[float, float]]:
    """For each day after `cutoff`: (forecast, its spread), the pickup over `weeks` weeks."""
    out = []
    for day in days:
        lead = (day - cutoff).days
        p = pickup(book, cutoff, lead, day.weekday(), weeks)
        out.append((max(book.on_books(day, cutoff) + p.mean, 0.0), p.spread))
    return out
