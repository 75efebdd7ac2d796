"""What the availability engine's example tests (tests/unit/booking/test_availability_*.py) share:
the zones they use (one with a half-hour DST shift, one that skipped a date), a Monday and a
Tuesday, instants as UTC minutes, a practitioner's calendar, slot rules, a day's window and the
starts offered on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicflow.booking.domain.availability import (
    Interval,
    PractitionerCalendar,
    SlotRules,
    free_starts,
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
