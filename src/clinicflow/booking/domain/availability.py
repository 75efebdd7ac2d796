"""Availability engine: pure, integer-minute arithmetic over whole ranges.

Instants are whole minutes since the Unix epoch in UTC (`clinicflow.shared.minutes`).
Working hours are wall-clock intervals in the clinic's zone, turned into instants day by
day with zoneinfo, so a 09:00 slot stays 09:00 local on DST change days.

Rules (documented in docs/architecture.md):
- a candidate start `s` for duration `d` occupies [s - buffer_before, s + d + buffer_after);
  it is free when that interval overlaps no busy block (half-open intervals; touching is fine);
- busy blocks are existing appointments and live holds *already widened by their own
  buffers* (stored that way), time off, and external calendars' busy times;
- the appointment itself, [s, s + d), lies inside one working interval; buffers may reach
  outside working hours but never into a busy block;
- starts step by `step` minutes anchored on the start of each working interval;
- earliest_start <= s <= latest_start (minimum notice, maximum advance).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from clinicflow.shared.hours import LocalInterval

Interval = tuple[int, int]  # [start, end) in epoch minutes, UTC


@dataclass(frozen=True, slots=True)
class PractitionerCalendar:
    key: str
    weekly: Mapping[int, Sequence[LocalInterval]]  # 0 = Monday .. 6 = Sunday
    exceptions: Mapping[date, Sequence[LocalInterval]]  # replaces that weekday; () = off
    busy: Sequence[Interval]  # any order, may overlap


@dataclass(frozen=True, slots=True)
class SlotRules:
    duration: int
    buffer_before: int
    buffer_after: int
    step: int
    earliest_start: int  # now + minimum notice
    latest_start: int  # now + maximum advance


@dataclass(frozen=True, slots=True)
class Slot:
    start: int
    end: int
    practitioners: tuple[str, ...]  # in the order the calendars were given


class Rejection(StrEnum):
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    TOO_LITTLE_NOTICE = "too_little_notice"
    TOO_FAR_AHEAD = "too_far_ahead"
    SLOT_UNAVAILABLE = "slot_unavailable"


def find_slots(
    calendars: Sequence[PractitionerCalendar],
    rules: SlotRules,
    window: Interval,
    tz: ZoneInfo,
) -> list[Slot]:
    """Bookable slots whose start lies in `window`, sorted by start, each with who can take it."""
    raise NotImplementedError


def free_starts(
    calendar: PractitionerCalendar, rules: SlotRules, window: Interval, tz: ZoneInfo
) -> list[int]:
    """One practitioner's bookable starts in `window`, ascending."""
    raise NotImplementedError


def check_start(
    calendar: PractitionerCalendar, rules: SlotRules, start: int, tz: ZoneInfo
) -> Rejection | None:
    """Why `start` cannot be booked with this practitioner, or None when it can.

    Checked in this order: notice, advance, working hours, busy blocks. A start off the
    step grid is accepted when everything else holds (front desk may book 10:05).
    """
    raise NotImplementedError


def working_intervals(calendar: PractitionerCalendar, day: date, tz: ZoneInfo) -> list[Interval]:
    """The practitioner's working intervals on local `day`, as UTC epoch-minute intervals."""
    raise NotImplementedError


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of intervals (touching ones joined)."""
    raise NotImplementedError
