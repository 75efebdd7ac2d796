"""The webhook retry schedule: exponential backoff with full jitter, capped, then given up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicflow.webhooks.domain.retry import RetrySchedule

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_the_longest_wait_doubles_after_each_failure_up_to_the_cap() -> None:
    schedule = RetrySchedule(base_seconds=60, cap_seconds=600)
    assert [schedule.ceiling(n) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]


def test_the_draw_spreads_the_wait_between_the_floor_and_the_longest_wait() -> None:
    schedule = RetrySchedule(base_seconds=60, floor_seconds=1)
    assert schedule.delay(3, lambda: 0.0) == timedelta(seconds=1)
    assert schedule.delay(3, lambda: 0.5) == timedelta(seconds=1 + 239 * 0.5)
    assert schedule.delay(3, lambda: 0.999999) < timedelta(seconds=240)


def test_a_failed_attempt_is_tried_again_until_the_last_allowed_one() -> None:
    schedule = RetrySchedule(max_attempts=3, base_seconds=10)
    assert schedule.next_attempt(1, NOW, lambda: 1.0) == NOW + timedelta(seconds=10)
    assert schedule.next_attempt(2, NOW, lambda: 1.0) == NOW + timedelta(seconds=20)
    assert schedule.next_attempt(3, NOW, lambda: 1.0) is None


def test_the_default_gives_up_after_eight_attempts() -> None:
    schedule = RetrySchedule()
    assert schedule.max_attempts == 8
    assert schedule.next_attempt(7, NOW, lambda: 0.0) is not None
    assert schedule.next_attempt(8, NOW, lambda: 0.0) is None
    # Seven waits of at most 1, 2, 4 … 64 minutes: about two hours before giving up.
    assert schedule.longest_wait() == timedelta(minutes=127)


def test_the_random_source_is_injected_so_a_seed_repeats_the_schedule() -> None:
    schedule = RetrySchedule()
    first = [schedule.delay(n, random.Random(7).random) for n in range(1, 8)]
    again = [schedule.delay(n, random.Random(7).random) for n in range(1, 8)]
    assert first == again


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"floor_seconds": -1},
        {"base_seconds": 10, "cap_seconds": 5},
        {"floor_seconds": 20, "base_seconds": 10},
    ],
)
def test_a_schedule_that_makes_no_sense_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must be|need"):
        RetrySchedule(**options)  # type: ignore[arg-type]


@given(
    failed=st.integers(min_value=1, max_value=200),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_every_wait_lies_within_the_floor_and_the_cap(failed: int, draw: float) -> None:
    schedule = RetrySchedule(base_seconds=30, cap_seconds=3600, floor_seconds=1)
    wait = schedule.delay(failed, lambda: draw).total_seconds()
    assert 1 <= wait <= min(3600, 30 * 2 ** (failed - 1)) + 1e-6
