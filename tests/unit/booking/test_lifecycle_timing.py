"""When a life-cycle action is accepted: check-in and completion from the configured time
before the start, a no-show from the start, the other actions at any time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicflow.booking.domain.lifecycle import Action, opens_at

START = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("action", [Action.CHECK_IN, Action.COMPLETE])
def test_attending_opens_the_configured_minutes_before_the_start(action: Action) -> None:
    assert opens_at(action, START, 720) == START - timedelta(hours=12)
    assert opens_at(action, START, 0) == START


def test_a_no_show_opens_at_the_start_and_the_rest_any_time() -> None:
    assert opens_at(Action.NO_SHOW, START, 720) == START
    for action in (Action.CONFIRM, Action.RESCHEDULE, Action.CANCEL):
        assert opens_at(action, START, 720) is None


@given(st.integers(min_value=0, max_value=7 * 24 * 60), st.integers(-10_000, 10_000))
def test_check_in_is_accepted_exactly_from_its_opening(window: int, offset: int) -> None:
    now = START + timedelta(minutes=offset)
    opens = opens_at(Action.CHECK_IN, START, window)

    assert opens is not None
    assert (now >= opens) == (offset >= -window)
