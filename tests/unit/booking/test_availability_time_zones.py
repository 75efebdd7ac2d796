"""The availability engine, by example: one rule per test (calendars and rules made by
support/availability_examples.py). This module: time zones and DST: working hours kept in local
time across the change, the spring-forward gap, the repeated fall-back hour, a half-hour DST
zone, and a skipped date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from clinicflow.booking.domain.availability import (
    Rejection,
    Slot,
    check_start,
    find_slots,
    free_starts,
    working_intervals,
)
from support.availability_examples import (
    APIA,
    CHICAGO,
    LORD_HOWE,
    MONDAY,
    at,
    calendar,
    day_window,
    hours,
    local,
    rules,
)


def _chicago_day(day: date) -> list[Slot]:
    return find_slots([calendar()], rules(duration=30), day_window(day, CHICAGO), CHICAGO)


@pytest.mark.parametrize(
    "change_day",
    [date(2027, 3, 14), date(2026, 11, 1), date(2027, 11, 7)],
    ids=["spring-forward", "fall-back-2026", "fall-back-2027"],
)
def test_dst_change_day_keeps_working_hours_in_local_time(change_day: date) -> None:
    slots = _chicago_day(change_day)
    ordinary = _chicago_day(change_day - timedelta(days=7))
    assert local(slots[0].start, CHICAGO).replace(tzinfo=None) == datetime.combine(
        change_day, time(9)
    )
    assert local(slots[-1].start, CHICAGO).time() == time(16, 30)
    assert len(slots) == len(ordinary) == 16


def test_dst_change_shifts_the_utc_start_by_an_hour() -> None:
    before, after = _chicago_day(date(2027, 3, 13)), _chicago_day(date(2027, 3, 14))
    assert after[0].start - before[0].start == 24 * 60 - 60


def test_wall_time_skipped_by_spring_forward_reads_with_the_old_offset() -> None:
    cal = calendar(weekly={6: hours("02:30-04:00")})
    ((start, end),) = working_intervals(cal, date(2027, 3, 14), CHICAGO)
    assert local(start, CHICAGO).time() == time(3, 30)
    assert end - start == 30


def test_hours_inside_the_spring_forward_gap_move_an_hour_later() -> None:
    cal = calendar(weekly={6: hours("02:10-02:50")})
    ((start, end),) = working_intervals(cal, date(2027, 3, 14), CHICAGO)
    assert (local(start, CHICAGO).time(), end - start) == (time(3, 10), 40)


def test_hours_that_the_spring_forward_gap_turns_empty_are_dropped() -> None:
    # 02:30 reads as 03:30 CDT, after the 03:00 end.
    cal = calendar(weekly={6: hours("02:30-03:00")})
    assert working_intervals(cal, date(2027, 3, 14), CHICAGO) == []


def test_repeated_wall_time_on_fall_back_is_its_first_occurrence() -> None:
    cal = calendar(weekly={6: hours("01:30-03:00")})
    ((start, end),) = working_intervals(cal, date(2026, 11, 1), CHICAGO)
    assert local(start, CHICAGO).utcoffset() == timedelta(hours=-5)
    assert end - start == 150  # 01:30 CDT .. 03:00 CST elapses two and a half hours


@pytest.mark.parametrize(
    "change_day", [date(2026, 10, 4), date(2027, 4, 4)], ids=["forward", "back"]
)
def test_half_hour_dst_zone_keeps_nine_o_clock(change_day: date) -> None:
    window = day_window(change_day, LORD_HOWE)
    slots = find_slots([calendar()], rules(duration=30), window, LORD_HOWE)
    assert local(slots[0].start, LORD_HOWE).time() == time(9)
    assert len(slots) == 16


def test_check_start_uses_the_local_date_of_the_start() -> None:
    # 09:00 in Chicago on a Monday is 15:00 UTC; only Monday has hours.
    cal = calendar(weekly={0: hours("09:00-10:00")})
    assert check_start(cal, rules(), at(MONDAY, "09:00", CHICAGO), CHICAGO) is None
    assert (
        check_start(cal, rules(), at(MONDAY, "09:00"), CHICAGO) is Rejection.OUTSIDE_WORKING_HOURS
    )


def test_hours_of_a_skipped_date_are_offered_on_the_next_date() -> None:
    # fold=0 reads 09:00 on the skipped 30th with the old offset: 09:00 on the 31st.
    cal = calendar(weekly={}, exceptions={date(2011, 12, 30): hours("09:00-10:00")})
    slots = find_slots([cal], rules(), day_window(date(2011, 12, 31), APIA), APIA)
    assert [f"{local(s.start, APIA):%d %H:%M}" for s in slots] == ["31 09:00", "31 09:30"]
    assert [check_start(cal, rules(), s.start, APIA) for s in slots] == [None, None]


def test_two_dates_whose_hours_land_on_the_same_instants_offer_each_start_once() -> None:
    cal = calendar(weekly=dict.fromkeys(range(7), hours("09:00-10:00")))
    window = (day_window(date(2011, 12, 29), APIA)[0], day_window(date(2012, 1, 1), APIA)[0])
    starts = free_starts(cal, rules(), window, APIA)
    assert [f"{local(s, APIA):%d %H:%M}" for s in starts] == [
        "29 09:00",
        "29 09:30",
        "31 09:00",
        "31 09:30",
    ]
