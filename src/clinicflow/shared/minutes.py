"""Instants as whole minutes since the Unix epoch (UTC): the availability engine's arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_minute(at: datetime) -> int:
    """Minutes since the epoch, rounding down; `at` must be aware."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: attach a time zone first")
    seconds = (at - _EPOCH).total_seconds()
    return int(seconds // 60)


def from_minute(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def to_minute_ceil(at: datetime) -> int:
    """Minutes since the epoch, rounding up: for lower bounds that must not be undercut."""
    floor = to_minute(at)
    return floor if from_minute(floor) == at else floor + 1
