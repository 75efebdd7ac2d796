"""Availability engine: pure, integer-minute arithmetic over whole ranges.

Instants are whole minutes since the Unix epoch in UTC (`clinicflow.shared.minutes`).
Working hours are wall-clock intervals in the clinic's zone, turned into instants day by
day with zoneinfo, so a 09:00 slot stays 09:00 local on DST change days.

Rules (documented in docs/architecture.md):
- a candidate start `s` for duration `d` occupies [s - buffer_before, s + d + buffer_after);
  it is free when that interval overlaps no busy block (half-open intervals; touching is fine);
- busy blocks are existing appointments and live holds *already widened by their own
  buffers* (stored that way), time off, and external calendars' busy times;
- the appointment itself, [s, s + d), lies inside one working interval; buffers may reach
  outside working hours but never into a busy block;
- starts step by `step` minutes anchored on the start of each working interval;
- earliest_start <= s <= latest_start (minimum notice, maximum advance).

Edge cases, decided here:
- a local day's working intervals are merged after conversion (touching or overlapping
  hours form one interval, so the grid is anchored on the merged start);
- wall times are read with zoneinfo's default fold=0: a time skipped by spring-forward
  takes the offset before the change (02:30 in Chicago becomes 03:30 CDT), a repeated
  time on fall-back is its first occurrence; hours left empty by a gap are dropped;
- empty or inverted intervals (end <= start) cover nothing;
- a date's hours are read on that date, but where the zone skips a whole date (Samoa,
  2011-12-30) they land on the next one; `find_slots` looks one date beyond the window
  each side and `check_start` at the start's date and its neighbours, so they agree.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from clinicflow.shared.hours import LocalInterval
from clinicflow.shared.minutes import to_minute

Interval = tuple[int, int]  # [start, end) in epoch minutes, UTC

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PractitionerCalendar:
    key: str
    weekly: Mapping[int, Sequence[LocalInterval]]  # 0 = Monday .. 6 = Sunday
    exceptions: Mapping[date, Sequence[LocalInterval]]  # replaces that weekday; () = off
    busy: Sequence[Interval]  # any order, may overlap


@dataclass(frozen=True, slots=True)
class SlotRules:
    duration: int
    buffer_before: int
    buffer_after: int
    step: int
    earliest_start: int  # now + minimum notice
    latest_start: int  # now + maximum advance


@dataclass(frozen=True, slots=True)
class Slot:
    start: int
    end: int
    practitioners: tuple[str, ...]  # in the order the calendars were given


class Rejection(StrEnum):
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    TOO_LITTLE_NOTICE = "too_little_notice"
    TOO_FAR_AHEAD = "too_far_ahead"
    SLOT_UNAVAILABLE = "slot_unavailable"


_Cache = dict[tuple[date, time], int]  # (local date, wall time) -> epoch minute, one call long


def find_slots(
    calendars: Sequence[PractitionerCalendar],
    rules: SlotRules,
    window: Interval,
    tz: ZoneInfo,
) -> list[Slot]:
    """Bookable slots whose start lies in `window`, sorted by start, each with who can take it."""
    _check_rules(rules)
    days = _local_days(window, tz)
    cache: _Cache = {}
    holders_at: dict[int, list[str]] = {}
    for calendar in calendars:
        key = calendar.key
        for start in _free_starts(calendar, rules, window, days, tz, cache):
            holders = holders_at.get(start)
            if holders is None:
                holders_at[start] = [key]
            else:
                holders.append(key)
    duration = rules.duration
    return [Slot(s, s + duration, tuple(holders_at[s])) for s in sorted(holders_at)]


def free_starts(
    calendar: PractitionerCalendar, rules: SlotRules, window: Interval, tz: ZoneInfo
) -> list[int]:
    """One practitioner's bookable starts in `window`, ascending."""
    _check_rules(rules)
    return _free_starts(calendar, rules, window, _local_days(window, tz), tz, {})


def check_start(
    calendar: PractitionerCalendar, rules: SlotRules, start: int, tz: ZoneInfo
) -> Rejection | None:
    """Why `start` cannot be booked with this practitioner, or None when it can.

    Checked in this order: notice, advance, working hours, busy blocks. A start off the
    step grid is accepted when everything else holds (front desk may book 10:05).
    """
    if start < rules.earliest_start:
        return Rejection.TOO_LITTLE_NOTICE
    if start > rules.latest_start:
        return Rejection.TOO_FAR_AHEAD
    end = start + rules.duration
    if not any(a <= start and end <= b for a, b in _hours_around(calendar, start, tz)):
        return Rejection.OUTSIDE_WORKING_HOURS
    lo = start - rules.buffer_before
    hi = end + rules.buffer_after
    # An empty or inverted block covers nothing, as in `merge`.
    if any(x < y and x < hi and lo < y for x, y in calendar.busy):
        return Rejection.SLOT_UNAVAILABLE
    return None


def working_intervals(calendar: PractitionerCalendar, day: date, tz: ZoneInfo) -> list[Interval]:
    """The practitioner's working intervals on local `day`, as UTC epoch-minute intervals."""
    return _day_intervals(calendar, day, tz, {})


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of intervals (touching ones joined)."""
    out: list[Interval] = []
    for start, end in sorted(iv for iv in intervals if iv[0] < iv[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _check_rules(rules: SlotRules) -> None:
    # A zero step never advances, and a negative buffer would let the sweep in
    # `_emit_starts` step backwards and emit a start twice.
    if rules.duration <= 0 or rules.step <= 0:
        raise ValueError("duration and step must be positive")
    if rules.buffer_before < 0 or rules.buffer_after < 0:
        raise ValueError("buffers must not be negative")


def _hours_around(calendar: PractitionerCalendar, start: int, tz: ZoneInfo) -> list[Interval]:
    # The neighbouring dates too, exactly as `find_slots` looks at them, so the two agree
    # even where a date's wall times land on another local date.
    day = datetime.fromtimestamp(start * 60, tz).date()
    cache: _Cache = {}
    return [
        interval
        for d in (day - _ONE_DAY, day, day + _ONE_DAY)
        for interval in _day_intervals(calendar, d, tz, cache)
    ]


def _local_days(window: Interval, tz: ZoneInfo) -> list[date]:
    # One day of margin each side. In ordinary zones a date's hours stay on that date,
    # but with fold=0 the wall times of a skipped date land on the next one (Samoa skipped
    # 2011-12-30: its 09:00 is 09:00 on the 31st). The later margin is only insurance.
    w0, w1 = window
    if w1 <= w0:
        return []
    first = datetime.fromtimestamp(w0 * 60, tz).date() - _ONE_DAY
    last = datetime.fromtimestamp(w1 * 60, tz).date() + _ONE_DAY
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _local_minute(day: date, at: time, tz: ZoneInfo, cache: _Cache) -> int:
    key = (day, at)
    minute = cache.get(key)
    if minute is None:
        # fold=0: a wall time skipped by spring-forward is read with the offset in force
        # before the change (02:30 becomes 03:30 after it); a repeated one is its first
        # occurrence.
        minute = to_minute(datetime.combine(day, at, tzinfo=tz))
        cache[key] = minute
    return minute


def _day_intervals(
    calendar: PractitionerCalendar, day: date, tz: ZoneInfo, cache: _Cache
) -> list[Interval]:
    hours = calendar.exceptions.get(day)
    if hours is None:
        hours = calendar.weekly.get(day.weekday(), ())
    if not hours:
        return []
    # Merging drops hours that a DST gap turned empty and joins hours that it made
    # overlap: the practitioner works the union of the elapsed time.
    return merge(
        (_local_minute(day, h.start, tz, cache), _local_minute(day, h.end, tz, cache))
        for h in hours
    )


def _free_starts(
    calendar: PractitionerCalendar,
    rules: SlotRules,
    window: Interval,
    days: Sequence[date],
    tz: ZoneInfo,
    cache: _Cache,
) -> list[int]:
    lowest = max(window[0], rules.earliest_start)
    highest = min(window[1] - 1, rules.latest_start)
    if lowest > highest:
        return []
    busy = merge(calendar.busy)
    ends = [end for _, end in busy]
    out: list[int] = []
    out_of_order = False
    for day in days:
        for a, b in _day_intervals(calendar, day, tz, cache):
            lo = max(a, lowest)
            hi = min(b - rules.duration, highest)
            if lo > hi:
                continue
            mark = len(out)
            _emit_starts(out, a, lo, hi, busy, ends, rules)
            # Days' hours come out in time order unless a skipped date's hours landed on
            # the next date's; only then is a sort (and dropping repeats) worth paying for.
            if 0 < mark < len(out) and out[mark] <= out[mark - 1]:
                out_of_order = True
    return sorted(set(out)) if out_of_order else out


def _emit_starts(
    out: list[int],
    anchor: int,
    lo: int,
    hi: int,
    busy: Sequence[Interval],
    ends: Sequence[int],
    rules: SlotRules,
) -> None:
    # Block [x, y) forbids exactly the starts in the open range (x - duration - after,
    # y + before); sweep those ranges left to right and emit the grid points between them.
    reach_back = rules.duration + rules.buffer_after
    before = rules.buffer_before
    step = rules.step
    i = bisect_right(ends, lo - before)
    n = len(busy)
    cur = lo
    while cur <= hi:
        seg_hi = min(hi, busy[i][0] - reach_back) if i < n else hi
        if seg_hi >= cur:
            first = anchor - (anchor - cur) // step * step
            out.extend(range(first, seg_hi + 1, step))
        if i >= n:
            return
        cur = max(cur, busy[i][1] + before)
        i += 1
