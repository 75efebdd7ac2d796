"""The booking life cycle: held → confirmed → checked_in → completed; confirmed → cancelled |
no_show. A held slot may also be released (cancelled) or lapse (expired)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    EXPIRED = "expired"


class Action(StrEnum):
    CONFIRM = "confirm"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    CHECK_IN = "check-in"
    COMPLETE = "complete"
    NO_SHOW = "no-show"


# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.CONFIRM: (frozenset({Status.HELD}), Status.CONFIRMED),
    Action.RESCHEDULE: (frozenset({Status.CONFIRMED}), Status.CONFIRMED),
    Action.CANCEL: (frozenset({Status.HELD, Status.CONFIRMED}), Status.CANCELLED),
    Action.CHECK_IN: (frozenset({Status.CONFIRMED}), Status.CHECKED_IN),
    Action.COMPLETE: (frozenset({Status.CHECKED_IN}), Status.COMPLETED),
    Action.NO_SHOW: (frozenset({Status.CONFIRMED}), Status.NO_SHOW),
}


# Taken at the visit itself: accepted only from a while before its start.
ATTENDANCE = frozenset({Action.CHECK_IN, Action.COMPLETE})


def opens_at(action: Action, start: datetime, check_in_opens_min: int) -> datetime | None:
    """The earliest instant `action` is accepted for a visit starting at `start`; None when
    its time does not matter."""
    if action is Action.NO_SHOW:
        return start
    if action in ATTENDANCE:
        return start - timedelta(minutes=check_in_opens_min)
    return None


def effective_status(stored: str, hold_expires_at: datetime | None, now: datetime) -> Status:
    """A hold lapses by itself: past its expiry it reads as expired, whatever is stored."""
    status = Status(stored)
    if status is Status.HELD and hold_expires_at is not None and hold_expires_at <= now:
        return Status.EXPIRED
    return status


def next_status(current: Status, action: Action) -> Status | None:
    """The status `action` leads to from `current`, or None when it is not allowed."""
    sources, target = TRANSITIONS[action]
    return target if current in sources else None


def allowed_actions(current: Status) -> list[Action]:
    return [action for action, (sources, _) in TRANSITIONS.items() if current in sources]
