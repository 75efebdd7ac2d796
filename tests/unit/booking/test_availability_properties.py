"""Properties of the availability engine, checked against a brute-force reference."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from clinicflow.booking.domain.availability import (
    Interval,
    PractitionerCalendar,
    Slot,
    SlotRules,
    check_start,
    find_slots,
    free_starts,
)
from clinicflow.shared.hours import LocalInterval
from clinicflow.shared.minutes import to_minute

ZONES = [
    ZoneInfo("UTC"),
    ZoneInfo("America/Chicago"),
    ZoneInfo("Australia/Lord_Howe"),  # DST moves the clock by 30 minutes
    ZoneInfo("Pacific/Apia"),  # skipped 2011-12-30 entirely
]
# Days just before DST changes in Chicago and Lord Howe, and Samoa's jump, so short
# windows cross them.
NEAR_CHANGES = [
    date(2027, 3, 13),
    date(2026, 10, 31),
    date(2027, 11, 6),
    date(2026, 10, 3),
    date(2011, 12, 29),
]
DAY = 24 * 60
Hours = tuple[LocalInterval, ...]

modest = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class Scenario:
    calendars: list[PractitionerCalendar]
    rules: SlotRules
    window: Interval
    tz: ZoneInfo
    days: list[date]  # local dates around the window, with room to spare


def _clock(minute_of_day: int) -> time:
    return time(minute_of_day // 60, minute_of_day % 60)


# Strategies are built once: constructing them inside each draw dominated the run time.
SPANS = st.tuples(st.integers(0, 1438), st.integers(1, 600))
WEEKDAY = st.integers(0, 6)
WEEKDAYS_OFF = st.sets(WEEKDAY, max_size=3)
BLOCKS = st.lists(st.tuples(st.integers(-720, 2 * DAY + 720), st.integers(0, 240)), max_size=8)
FIRST_DAY = st.sampled_from(NEAR_CHANGES) | st.dates(date(2026, 1, 1), date(2028, 12, 31))
KEYS = st.lists(st.sampled_from("abcd"), min_size=1, max_size=3, unique=True)


def _hours(spans: list[tuple[int, int]]) -> Hours:
    # Overlapping and touching hours are allowed: the engine must merge them.
    return tuple(LocalInterval(_clock(a), _clock(min(a + n, 1439))) for a, n in spans)


ANY_HOURS = st.lists(SPANS, max_size=3).map(_hours)
SOME_HOURS = st.lists(SPANS, min_size=1, max_size=3).map(_hours)
EXCEPTIONS = st.dictionaries(st.integers(-1, 3), ANY_HOURS, max_size=2)


@st.composite
def calendars(
    draw: st.DrawFn, key: str, first: date, w0: int, common: Hours
) -> PractitionerCalendar:
    # A usual day, some weekdays off and one odd weekday: varied, yet cheap to draw.
    # Sharing the clinic's common hours makes slots that several practitioners can take.
    usual = common if draw(st.booleans()) else draw(SOME_HOURS)
    weekly = {d: usual for d in range(7) if d not in draw(WEEKDAYS_OFF)}
    if draw(st.booleans()):
        weekly[draw(WEEKDAY)] = draw(ANY_HOURS)
    exceptions = {first + timedelta(days=n): h for n, h in draw(EXCEPTIONS).items()}
    busy = [(w0 + a, w0 + a + n) for a, n in draw(BLOCKS)]
    return PractitionerCalendar(key, weekly, exceptions, busy)


@st.composite
def limits(draw: st.DrawFn, window: Interval) -> tuple[int, int]:
    # Each limit either leaves the window alone or cuts into it, so both cases stay common.
    w0, w1 = window
    earliest = w0 - DAY
    if draw(st.booleans()):
        earliest = w0 + draw(st.integers(0, w1 - w0))
    latest = w1 + DAY
    if draw(st.booleans()):
        latest = earliest + draw(st.integers(-60, w1 - earliest))
    return earliest, latest


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    tz = draw(st.sampled_from(ZONES))
    first = draw(FIRST_DAY)
    length = draw(st.integers(1, 48)) * 60 + draw(st.integers(0, 59))
    w0 = to_minute(datetime.combine(first, time(), tzinfo=tz)) + draw(st.integers(-720, 720))
    window = (w0, w0 + length)
    common = draw(SOME_HOURS)
    cals = [draw(calendars(key, first, w0, common)) for key in draw(KEYS)]
    earliest, latest = draw(limits(window))
    rules = SlotRules(
        duration=draw(st.integers(5, 120)),
        buffer_before=draw(st.integers(0, 30)),
        buffer_after=draw(st.integers(0, 30)),
        step=draw(st.integers(5, 60)),
        earliest_start=earliest,
        latest_start=latest,
    )
    days = [first + timedelta(days=n) for n in range(-3, 5)]
    return Scenario(cals, rules, window, tz, days)


# The reference: the rules read literally, one candidate at a time.


def reference_working(cal: PractitionerCalendar, day: date, tz: ZoneInfo) -> list[Interval]:
    hours = cal.exceptions[day] if day in cal.exceptions else cal.weekly.get(day.weekday(), ())
    spans = sorted(
        (
            to_minute(datetime.combine(day, h.start, tzinfo=tz)),
            to_minute(datetime.combine(day, h.end, tzinfo=tz)),
        )
        for h in hours
    )
    merged: list[list[int]] = []
    for a, b in spans:
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def grid(cal: PractitionerCalendar, s: Scenario) -> list[int]:
    """Every on-grid start in the window whose appointment fits the hours, busy or not."""
    out = []
    for day in s.days:
        for a, b in reference_working(cal, day, s.tz):
            out += [x for x in range(a, b - s.rules.duration + 1, s.rules.step)]
    # A set: two dates' hours can land on the same instants (Samoa's skipped date).
    return sorted({x for x in out if s.window[0] <= x < s.window[1]})


def overlaps_busy(cal: PractitionerCalendar, rules: SlotRules, start: int) -> bool:
    lo, hi = start - rules.buffer_before, start + rules.duration + rules.buffer_after
    return any(x < y and x < hi and lo < y for x, y in cal.busy)


def reference_starts(cal: PractitionerCalendar, s: Scenario) -> list[int]:
    r = s.rules
    return [
        x
        for x in grid(cal, s)
        if r.earliest_start <= x <= r.latest_start and not overlaps_busy(cal, r, x)
    ]


def slots_of(s: Scenario) -> list[Slot]:
    return find_slots(s.calendars, s.rules, s.window, s.tz)


def calendar_of(s: Scenario, key: str) -> PractitionerCalendar:
    return next(c for c in s.calendars if c.key == key)


def working_intervals_of(s: Scenario, key: str) -> list[Interval]:
    cal = calendar_of(s, key)
    return [iv for day in s.days for iv in reference_working(cal, day, s.tz)]


# One test for the three per-slot invariants: drawing scenarios costs more than checking them.
@modest
@given(scenarios())
def test_every_slot_is_free_inside_hours_and_within_limits(s: Scenario) -> None:
    slots = slots_of(s)
    assert [slot.start for slot in slots] == sorted({slot.start for slot in slots})
    for slot in slots:
        assert slot.end == slot.start + s.rules.duration
        assert s.rules.earliest_start <= slot.start <= s.rules.latest_start
        assert s.window[0] <= slot.start < s.window[1]
        for key in slot.practitioners:
            # buffers included, against every block of every practitioner listed
            assert not overlaps_busy(calendar_of(s, key), s.rules, slot.start)
            intervals = working_intervals_of(s, key)
            assert any(a <= slot.start and slot.end <= b for a, b in intervals)


@modest
@given(scenarios(), st.randoms(use_true_random=False))
def test_output_is_deterministic_and_ignores_busy_order(s: Scenario, rnd: random.Random) -> None:
    shuffled = []
    for cal in s.calendars:
        busy = list(cal.busy)
        rnd.shuffle(busy)
        shuffled.append(PractitionerCalendar(cal.key, cal.weekly, cal.exceptions, busy))
    first = slots_of(s)
    assert slots_of(s) == first
    assert find_slots(shuffled, s.rules, s.window, s.tz) == first


@modest
@given(scenarios())
def test_find_slots_equals_the_brute_force_reference(s: Scenario) -> None:
    expected: dict[int, list[str]] = {}
    for cal in s.calendars:
        for start in reference_starts(cal, s):
            expected.setdefault(start, []).append(cal.key)
    assert {slot.start: list(slot.practitioners) for slot in slots_of(s)} == expected


@modest
@given(scenarios())
def test_free_starts_agree_with_check_start(s: Scenario) -> None:
    for cal in s.calendars:
        offered = set(free_starts(cal, s.rules, s.window, s.tz))
        for start in grid(cal, s):
            accepted = check_start(cal, s.rules, start, s.tz) is None
            assert accepted == (start in offered), start
