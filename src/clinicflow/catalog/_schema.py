"""The shape of config/clinic.yaml, checked by Pydantic.

Value checks raise `_fail(...)` so each message says what is wrong and what to write instead;
`_checks` turns Pydantic's errors into (key path, message) and checks references across sections.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    StrictBool,
    model_validator,
)
from pydantic_core import PydanticCustomError

from clinicflow.shared.hours import LocalInterval

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_ZIP = re.compile(r"\d{5}(-\d{4})?")


def _fail(message: str, at: str = "") -> PydanticCustomError:
    """`at` is a suffix of the key path ("[2]", ".end") when the culprit lies below the value."""
    # The message travels in the context so braces in it are never taken as a template.
    return PydanticCustomError("config", "{reason}", {"reason": message, "at": at})


def is_tbd(value: object) -> bool:
    return isinstance(value, str) and value.strip().upper() == "TBD"


def _key(value: Any) -> str:
    if isinstance(value, str) and _KEY.fullmatch(value):
        return value
    raise _fail(
        f"key {value!r} must be lower-case letters, digits and underscores, "
        "starting with a letter (like doctor1 or weight_loss)"
    )


def _text(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _fail(f"must be non-empty text, not {value!r}")


def _whole(minimum: int, unit: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _fail(f"must be a whole number of {unit} of at least {minimum}, not {value!r}")
        return value

    return check


def _length(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        hint = "; write [TBD] alone when the lengths are not decided" if is_tbd(value) else ""
        raise _fail(f"must be a whole number of minutes greater than 0, not {value!r}{hint}")
    return value


def _lengths_or_tbd(value: Any) -> Any:
    if is_tbd(value) or (isinstance(value, list) and len(value) == 1 and is_tbd(value[0])):
        return None
    if not isinstance(value, list) or not value:
        raise _fail(f"must be a list of lengths in minutes like [15, 20], or [TBD]; not {value!r}")
    return value


def _price_cents(value: Any) -> int | None:
    if is_tbd(value):
        return None
    hint = "write US dollars like 119 or 119.50, or TBD"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"must be a price: {hint}; not {value!r}")
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    exponent = amount.normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # inf or nan
        raise _fail(f"must be a price: {hint}; not {value!r}")
    if amount < 0:
        raise _fail(f"is below zero ({value}); a price must be 0 or more: {hint}")
    if exponent < -2:
        cents = amount.quantize(Decimal("0.01"))
        raise _fail(f"has more than 2 decimal places ({value}); round it to cents, e.g. {cents}")
    return int(amount * 100)


def _launch_date(value: Any) -> dt.date | None:
    if value is None or is_tbd(value):
        return None
    return _calendar_date(value)


def _calendar_date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(f"must be a date like 2026-12-25, not {value!r}")


def _local_datetime(value: Any) -> dt.datetime:
    parsed: dt.datetime | None = value if isinstance(value, dt.datetime) else None
    if isinstance(value, str) and len(value.strip()) > 10:
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is not None:
        raise _fail(
            "must be a local date and time in the clinic's zone, without an offset, "
            f"like 2026-12-10T12:00; not {value!r}"
        )
    return parsed


def _timezone(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value
    close = difflib.get_close_matches(str(value), sorted(available_timezones()), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise _fail(f"{value!r} is not an IANA time zone; {hint}use a name like America/Chicago")


def _zip(value: Any) -> str:
    if isinstance(value, str) and _ZIP.fullmatch(value.strip()):
        return value.strip()
    raise _fail(f'must be a 5-digit US ZIP code in quotes, like "78701"; not {value!r}')


def _currency(value: Any) -> str:
    if value == "USD":
        return "USD"
    raise _fail(f"must be USD (prices in the services block are US dollars), not {value!r}")


def _interval(value: Any) -> LocalInterval:
    match = _RANGE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise _fail(f'must be hours like "09:00-12:00" (24-hour HH:MM-HH:MM), not {value!r}')
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if max(h1, h2) > 23 or max(m1, m2) > 59:
        raise _fail(f"{value!r} is not a time of day; hours run 00-23 and minutes 00-59")
    start, end = dt.time(h1, m1), dt.time(h2, m2)
    if end <= start:
        raise _fail(
            f"end {end:%H:%M} is not after start {start:%H:%M}; write the earlier time first "
            "(hours past midnight are not supported)"
        )
    return LocalInterval(start, end)


def _show(interval: LocalInterval) -> str:
    return f"{interval.start:%H:%M}-{interval.end:%H:%M}"


def _no_overlap(ranges: list[LocalInterval]) -> list[LocalInterval]:
    order = sorted(range(len(ranges)), key=lambda i: ranges[i].start)
    for before, after in itertools.pairwise(order):
        if ranges[after].start < ranges[before].end:
            first, second = sorted((before, after))  # blame the one written later
            raise _fail(
                f"{_show(ranges[second])} overlaps {_show(ranges[first])} (item [{first}]) "
                "on the same day; merge them or make them not overlap",
                at=f"[{second}]",
            )
    return ranges


def _distinct(values: list[Any] | None) -> list[Any] | None:
    for i, value in enumerate(values or ()):
        if value in (values or ())[:i]:
            raise _fail(f"{value!r} is listed twice; keep it once", at=f"[{i}]")
    return values


Key = Annotated[str, PlainValidator(_key)]
Text = Annotated[str, PlainValidator(_text)]
Minutes = Annotated[int, PlainValidator(_whole(0, "minutes"))]
PositiveMinutes = Annotated[int, PlainValidator(_whole(1, "minutes"))]
PositiveDays = Annotated[int, PlainValidator(_whole(1, "days"))]
PositiveYears = Annotated[int, PlainValidator(_whole(1, "years"))]
Lengths = Annotated[
    list[Annotated[int, PlainValidator(_length)]] | None,
    BeforeValidator(_lengths_or_tbd),
    AfterValidator(_distinct),
]
PriceCents = Annotated[int | None, PlainValidator(_price_cents)]
LaunchDate = Annotated[dt.date | None, PlainValidator(_launch_date)]
CalendarDate = Annotated[dt.date, PlainValidator(_calendar_date)]
LocalDateTime = Annotated[dt.datetime, PlainValidator(_local_datetime)]
TimeZoneName = Annotated[str, PlainValidator(_timezone)]
Zip = Annotated[str, PlainValidator(_zip)]
Currency = Annotated[str, PlainValidator(_currency)]
DayHours = Annotated[
    list[Annotated[LocalInterval, PlainValidator(_interval)]], AfterValidator(_no_overlap)
]
Keys = Annotated[list[Key], AfterValidator(_distinct)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClinicSpec(Spec):
    name: Text
    timezone: TimeZoneName
    zip: Zip
    currency: Currency = "USD"
    hold_minutes: PositiveMinutes = 10


class ServiceSpec(Spec):
    active: StrictBool
    waitlist: StrictBool = False
    launch_date: LaunchDate = None
    durations: dict[Key, Lengths] = {}
    pricing: dict[Key, PriceCents] = {}
    calendars: Keys = []


class PolicySpec(Spec):
    buffer_before_min: Minutes | None = None
    buffer_after_min: Minutes | None = None
    min_notice_min: Minutes | None = None
    max_advance_days: PositiveDays | None = None
    slot_step_min: PositiveMinutes | None = None
    check_in_opens_min: Minutes | None = None
    reminder_minutes: list[PositiveMinutes] | None = None


class ServiceSettingsSpec(PolicySpec):
    name: Text | None = None


class HoursSpec(Spec):
    mon: DayHours = []
    tue: DayHours = []
    wed: DayHours = []
    thu: DayHours = []
    fri: DayHours = []
    sat: DayHours = []
    sun: DayHours = []


class ExceptionSpec(Spec):
    date: CalendarDate
    hours: DayHours = []
    reason: str = ""


class TimeOffSpec(Spec):
    start: LocalDateTime
    end: LocalDateTime
    reason: str = ""

    @model_validator(mode="after")
    def _ends_after_start(self) -> TimeOffSpec:
        if self.end <= self.start:
            raise _fail(
                f"end {self.end:%Y-%m-%dT%H:%M} is not after start {self.start:%Y-%m-%dT%H:%M}; "
                "make the end later than the start",
                at=".end",
            )
        return self


def _distinct_dates(entries: list[ExceptionSpec]) -> list[ExceptionSpec]:
    for i, entry in enumerate(entries):
        if any(other.date == entry.date for other in entries[:i]):
            raise _fail(f"{entry.date} has two exceptions; keep one per date", at=f"[{i}].date")
    return entries


class PractitionerSpec(Spec):
    name: Text
    title: Text
    services: Keys = []
    hours: HoursSpec
    exceptions: Annotated[list[ExceptionSpec], AfterValidator(_distinct_dates)] = []
    time_off: list[TimeOffSpec] = []


class RetentionSpec(Spec):
    audit_log_years: PositiveYears = 6
    patient_records_years_after_last_visit: PositiveYears = 7
    expired_holds_days: PositiveDays = 30
    cancelled_waitlist_entries_days: PositiveDays = 365
    published_events_days: PositiveDays = 30
    finished_deliveries_days: PositiveDays = 30
    handled_events_days: PositiveDays = 90
