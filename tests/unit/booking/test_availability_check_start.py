"""The availability engine, by example: one rule per test (calendars and rules made by
support/availability_examples.py). This module: checking one start (`check_start`): what it
accepts, what it rejects, and which reason it reports first.
"""

from __future__ import annotations

from clinicflow.booking.domain.availability import Rejection, check_start
from support.availability_examples import MONDAY, UTC, at, calendar, hours, rules


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
