"""When reminders go out: offsets before the visit's start, per service when configured."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_OFFSETS: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
REMINDER_STATUSES = ("scheduled", "sent", "cancelled", "skipped")


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder to schedule: `kind` before the visit, at `send_at`."""

    kind: str  # "24h", "2h", "90m", "2d"
    send_at: datetime


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A scheduled reminder whose time has come, as kept."""

    id: str
    booking_id: str
    patient_id: str
    kind: str
    send_at: datetime
    booking_start_at: datetime  # the start it was scheduled for


def label(offset: timedelta) -> str:
    """ "24h", "2h", "90m", "3d": whole days only from two days up, as people say it."""
    seconds = int(offset.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and (unit != "d" or seconds >= 2 * size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def reminders_for(
    start: datetime,
    service: str,
    now: datetime,
    overrides: Mapping[str, Sequence[timedelta]] | None = None,
) -> list[Reminder]:
    """A reminder whose time has already passed when the visit is booked is not created:
    a "24 hours before" text that arrives 3 hours before would only confuse."""
    offsets = (overrides or {}).get(service, DEFAULT_OFFSETS)
    found = {label(o): start - o for o in offsets if start - o > now}
    return [Reminder(kind, at) for kind, at in sorted(found.items(), key=lambda kv: kv[1])]


def reminder_skip_reason(
    booking_status: str | None,
    booking_start: datetime | None,
    scheduled_for: datetime,
    now: datetime,
) -> str | None:
    """Why a due reminder must not go out, judged from the booking as it is now.

    A reminder found only after the visit began (every worker was down for hours) is
    dropped: "see you in 2 hours" after the visit would only confuse."""
    if booking_status is None or booking_start is None:
        return "booking not found"
    if booking_status != "confirmed":
        return f"booking {booking_status}"
    if booking_start != scheduled_for:
        return "booking moved"
    if now >= booking_start:
        return "visit already started"
    return None
