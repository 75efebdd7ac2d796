"""The availability engine, by example: one rule per test (calendars and rules made by
support/availability_examples.py). This module: merging intervals, working hours, busy blocks
and buffers, the window, notice and advance limits, and rules that cannot make a grid.
"""

from __future__ import annotations

import pytest

from clinicflow.booking.domain.availability import (
    Slot,
    SlotRules,
    find_slots,
    merge,
    working_intervals,
)
from support.availability_examples import (
    CHICAGO,
    MONDAY,
    TUESDAY,
    UTC,
    at,
    calendar,
    day_window,
    hours,
    local,
    rules,
    starts_on,
)


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
