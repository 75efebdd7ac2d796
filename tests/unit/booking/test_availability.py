"""The availability engine, by example: one rule per test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinicflow.booking.domain.availability import (
    Interval,
    PractitionerCalendar,
    Rejection,
    Slot,
    SlotRules,
    check_start,
    find_slots,
    free_starts,
    merge,
    working_intervals,
)
from clinicflow.shared.hours import LocalInterval
from clinicflow.shared.minutes import to_minute

UTC = ZoneInfo("UTC")
CHICAGO = ZoneInfo("America/Chicago")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
APIA = ZoneInfo("Pacific/Apia")  # skipped 2011-12-30 when Samoa crossed the date line
MONDAY = date(2026, 11, 30)
TUESDAY = MONDAY + timedelta(days=1)


def at(day: date, hhmm: str, tz: ZoneInfo = UTC) -> int:
    return to_minute(datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz))


def local(minute: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz)


def hours(*spans: str) -> tuple[LocalInterval, ...]:
    pairs = (span.split("-") for span in spans)
    return tuple(LocalInterval(time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs)


def calendar(
    key: str = "ana",
    weekly: Mapping[int, Sequence[LocalInterval]] | None = None,
    exceptions: Mapping[date, Sequence[LocalInterval]] | None = None,
    busy: Sequence[Interval] = (),
) -> PractitionerCalendar:
    if weekly is None:
        weekly = dict.fromkeys(range(7), hours("09:00-17:00"))
    return PractitionerCalendar(key, weekly, exceptions or {}, busy)


def rules(
    duration: int = 30,
    step: int = 30,
    before: int = 0,
    after: int = 0,
    earliest: int = 0,
    latest: int = 10**9,
) -> SlotRules:
    return SlotRules(duration, before, after, step, earliest, latest)


def day_window(day: date, tz: ZoneInfo = UTC) -> Interval:
    return (at(day, "00:00", tz), at(day + timedelta(days=1), "00:00", tz))


def starts_on(day: date, cal: PractitionerCalendar, slot_rules: SlotRules) -> list[str]:
    return [f"{local(s, UTC):%H:%M}" for s in free_starts(cal, slot_rules, day_window(day), UTC)]


# merge


def test_merge_joins_touching_and_overlapping_intervals_in_any_order() -> None:
    assert merge([(50, 60), (10, 20), (20, 30), (25, 40)]) == [(10, 40), (50, 60)]


def test_merge_drops_empty_and_inverted_intervals() -> None:
    assert merge([(10, 10), (30, 20), (40, 50)]) == [(40, 50)]


def test_merge_keeps_an_interval_contained_in_another_whole() -> None:
    assert merge([(0, 100), (10, 20)]) == [(0, 100)]


# the grid and working hours


@pytest.mark.parametrize(
    ("working", "duration", "step", "starts"),
    [
        (["09:00-11:00"], 30, 30, ["09:00", "09:30", "10:00", "10:30"]),
        (["09:00-10:00"], 45, 15, ["09:00", "09:15"]),
        (["09:10-10:00", "13:05-14:00"], 20, 30, ["09:10", "09:40", "13:05", "13:35"]),
    ],
    ids=[
        "starts-on-the-step-grid",
        "a-visit-ends-inside-working-hours",
        "steps-anchored-on-each-working-interval-start",
    ],
)
def test_a_working_day_offers_starts_on_the_step_grid_of_each_interval(
    working: list[str], duration: int, step: int, starts: list[str]
) -> None:
    cal = calendar(weekly={0: hours(*working)})
    assert starts_on(MONDAY, cal, rules(duration=duration, step=step)) == starts


def test_touching_working_hours_form_one_interval() -> None:
    cal = calendar(weekly={0: hours("09:00-10:00", "10:00-11:00")})
    assert "09:30" in starts_on(MONDAY, cal, rules(duration=60, step=30))


def test_day_without_weekly_hours_offers_nothing() -> None:
    cal = calendar(weekly={1: hours("09:00-17:00")})
    assert starts_on(MONDAY, cal, rules()) == []


def test_exception_day_off_offers_nothing() -> None:
    cal = calendar(exceptions={MONDAY: ()})
    assert starts_on(MONDAY, cal, rules()) == []
    assert starts_on(TUESDAY, cal, rules()) != []


def test_exception_hours_replace_the_weekday_hours() -> None:
    cal = calendar(exceptions={MONDAY: hours("18:00-19:00")})
    assert starts_on(MONDAY, cal, rules()) == ["18:00", "18:30"]


def test_working_intervals_are_utc_minutes_of_the_local_day() -> None:
    cal = calendar(weekly={0: hours("13:00-14:00", "09:00-12:00")})
    assert working_intervals(cal, MONDAY, CHICAGO) == [
        (at(MONDAY, "09:00", CHICAGO), at(MONDAY, "12:00", CHICAGO)),
        (at(MONDAY, "13:00", CHICAGO), at(MONDAY, "14:00", CHICAGO)),
    ]


# busy blocks and buffers


def test_slot_touching_a_busy_block_is_offered() -> None:
    cal = calendar(
        weekly={0: hours("09:00-11:00")}, busy=[(at(MONDAY, "10:00"), at(MONDAY, "10:30"))]
    )
    assert starts_on(MONDAY, cal, rules()) == ["09:00", "09:30", "10:30"]


def test_slot_overlapping_a_busy_block_by_one_minute_is_not_offered() -> None:
    cal = calendar(
        weekly={0: hours("09:00-11:00")}, busy=[(at(MONDAY, "09:59"), at(MONDAY, "10:00"))]
    )
    assert starts_on(MONDAY, cal, rules()) == ["09:00", "10:00", "10:30"]


def test_buffer_after_keeps_the_next_slot_free() -> None:
    cal = calendar(
        weekly={0: hours("09:00-11:00")}, busy=[(at(MONDAY, "10:00"), at(MONDAY, "11:00"))]
    )
    assert starts_on(MONDAY, cal, rules(duration=30, step=15, after=15)) == ["09:00", "09:15"]


def test_buffer_before_keeps_clear_of_the_previous_block() -> None:
    cal = calendar(
        weekly={0: hours("09:00-10:00")}, busy=[(at(MONDAY, "09:00"), at(MONDAY, "09:20"))]
    )
    assert starts_on(MONDAY, cal, rules(duration=15, step=5, before=10)) == [
        "09:30",
        "09:35",
        "09:40",
        "09:45",
    ]


def test_buffers_may_reach_outside_working_hours() -> None:
    cal = calendar(weekly={0: hours("09:00-10:00")})
    assert starts_on(MONDAY, cal, rules(duration=60, before=15, after=15)) == ["09:00"]


def test_busy_blocks_may_overlap_and_come_in_any_order() -> None:
    busy = [(at(MONDAY, "10:15"), at(MONDAY, "10:45")), (at(MONDAY, "09:45"), at(MONDAY, "10:20"))]
    cal = calendar(weekly={0: hours("09:00-12:00")}, busy=busy)
    assert starts_on(MONDAY, cal, rules(duration=30, step=15)) == [
        "09:00",
        "09:15",
        "10:45",
        "11:00",
        "11:15",
        "11:30",
    ]


def test_practitioner_busy_in_another_service_is_not_offered() -> None:
    # Ben's 10:00 block is a massage; busy blocks carry no service, so it blocks a consult too.
    ana = calendar("ana", weekly={0: hours("09:00-11:00")})
    ben = calendar(
        "ben", weekly={0: hours("09:00-11:00")}, busy=[(at(MONDAY, "10:00"), at(MONDAY, "11:00"))]
    )
    consult = rules(duration=30, step=30)
    slots = find_slots([ana, ben], consult, day_window(MONDAY), UTC)
    by_start = {f"{local(s.start, UTC):%H:%M}": s.practitioners for s in slots}
    assert by_start == {
        "09:00": ("ana", "ben"),
        "09:30": ("ana", "ben"),
        "10:00": ("ana",),
        "10:30": ("ana",),
    }


# find_slots: merging practitioners, window, limits


def test_slots_list_practitioners_in_calendar_order_and_are_sorted_by_start() -> None:
    early = calendar("zoe", weekly={0: hours("08:00-09:00")})
    late = calendar("amy", weekly={0: hours("08:30-10:00")})
    slots = find_slots([early, late], rules(duration=30), day_window(MONDAY), UTC)
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    assert slots[1] == Slot(at(MONDAY, "08:30"), at(MONDAY, "09:00"), ("zoe", "amy"))


def test_window_bounds_the_start_and_excludes_its_end() -> None:
    cal = calendar(weekly={0: hours("09:00-11:00")})
    window = (at(MONDAY, "09:30"), at(MONDAY, "10:30"))
    slots = find_slots([cal], rules(), window, UTC)
    assert [s.start for s in slots] == [at(MONDAY, "09:30"), at(MONDAY, "10:00")]


def test_window_edge_in_the_middle_of_the_day_keeps_the_grid() -> None:
    cal = calendar(weekly={0: hours("09:00-11:00")})
    window = (at(MONDAY, "09:10"), at(MONDAY, "12:00"))
    assert find_slots([cal], rules(), window, UTC)[0].start == at(MONDAY, "09:30")


def test_notice_and_advance_limits_are_inclusive() -> None:
    cal = calendar(weekly={0: hours("09:00-12:00")})
    limits = rules(earliest=at(MONDAY, "09:30"), latest=at(MONDAY, "10:30"))
    assert starts_on(MONDAY, cal, limits) == ["09:30", "10:00", "10:30"]


def test_window_spanning_days_covers_each_day() -> None:
    cal = calendar(weekly={0: hours("09:00-10:00"), 1: hours("09:00-10:00")})
    window = (day_window(MONDAY)[0], day_window(TUESDAY)[1])
    assert len(find_slots([cal], rules(), window, UTC)) == 4


def test_empty_window_offers_nothing() -> None:
    assert find_slots([calendar()], rules(), (at(MONDAY, "12:00"), at(MONDAY, "12:00")), UTC) == []


@pytest.mark.parametrize(
    "bad",
    [rules(step=0), rules(duration=0), rules(before=-5), rules(after=-1)],
)
def test_rules_that_cannot_make_a_grid_are_refused(bad: SlotRules) -> None:
    with pytest.raises(ValueError, match="must"):
        find_slots([calendar()], bad, day_window(MONDAY), UTC)


# check_start


def test_check_start_accepts_a_free_start_off_the_grid() -> None:
    cal = calendar(weekly={0: hours("09:00-11:00")})
    assert check_start(cal, rules(), at(MONDAY, "10:05"), UTC) is None


def test_check_start_rejects_too_little_notice() -> None:
    too_soon = rules(earliest=at(MONDAY, "10:00"))
    assert (
        check_start(calendar(), too_soon, at(MONDAY, "09:59"), UTC) is Rejection.TOO_LITTLE_NOTICE
    )


def test_check_start_rejects_too_far_ahead() -> None:
    horizon = rules(latest=at(MONDAY, "10:00"))
    assert check_start(calendar(), horizon, at(MONDAY, "10:01"), UTC) is Rejection.TOO_FAR_AHEAD


def test_check_start_rejects_an_appointment_running_past_working_hours() -> None:
    cal = calendar(weekly={0: hours("09:00-10:00")})
    assert check_start(cal, rules(), at(MONDAY, "09:45"), UTC) is Rejection.OUTSIDE_WORKING_HOURS


def test_check_start_rejects_a_day_off() -> None:
    cal = calendar(exceptions={MONDAY: ()})
    assert check_start(cal, rules(), at(MONDAY, "10:00"), UTC) is Rejection.OUTSIDE_WORKING_HOURS


def test_check_start_rejects_a_busy_slot_including_buffers() -> None:
    cal = calendar(busy=[(at(MONDAY, "10:40"), at(MONDAY, "11:00"))])
    with_buffer = rules(after=15)
    assert check_start(cal, with_buffer, at(MONDAY, "10:00"), UTC) is Rejection.SLOT_UNAVAILABLE
    assert check_start(cal, rules(), at(MONDAY, "10:00"), UTC) is None


def test_check_start_ignores_empty_busy_blocks() -> None:
    cal = calendar(busy=[(at(MONDAY, "10:10"), at(MONDAY, "10:10"))])
    assert check_start(cal, rules(), at(MONDAY, "10:00"), UTC) is None


def test_check_start_reports_notice_before_working_hours() -> None:
    cal = calendar(exceptions={MONDAY: ()})
    too_soon = rules(earliest=at(MONDAY, "12:00"))
    assert check_start(cal, too_soon, at(MONDAY, "10:00"), UTC) is Rejection.TOO_LITTLE_NOTICE


def test_check_start_reports_working_hours_before_busy_blocks() -> None:
    cal = calendar(exceptions={MONDAY: ()}, busy=[(at(MONDAY, "10:00"), at(MONDAY, "11:00"))])
    assert check_start(cal, rules(), at(MONDAY, "10:00"), UTC) is Rejection.OUTSIDE_WORKING_HOURS


# time zones and DST


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
