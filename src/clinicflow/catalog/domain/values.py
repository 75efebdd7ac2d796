"""The values a clinic writes in config/clinic.yaml, read and checked one at a time.

Each reader takes what YAML gave (any value, so `object`) and returns the typed value, or
raises `Invalid` with a message that says what is wrong and what to write instead. The
file's schema (`catalog.schemas`) applies them field by field. Prices and fixed amounts are
US dollars (TBD where allowed); percentages are numbers from 0 to 100 with at most two
decimals.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from clinicflow.catalog.domain.payments import MultiServiceCount
from clinicflow.shared.hours import LocalInterval

T = TypeVar("T")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_ZIP = re.compile(r"\d{5}(-\d{4})?")
_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,31}")
_EIN = re.compile(r"\d{2}-\d{7}")
# A mailbox's SMTP address, as Exchange names it (no display name, no spaces).
_MAILBOX = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_CALENDLY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Invalid(ValueError):
    """A value the file may not hold. `at` is a suffix of the key path ("[2]", ".end") when
    the culprit lies below the value itself."""

    def __init__(self, message: str, at: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.at = at


def is_tbd(value: object) -> bool:
    return isinstance(value, str) and value.strip().upper() == "TBD"


def key(value: object) -> str:
    if isinstance(value, str) and _KEY.fullmatch(value):
        return value
    raise Invalid(
        f"key {value!r} must be lower-case letters, digits and underscores, "
        "starting with a letter (like doctor1 or weight_loss)"
    )


def text(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise Invalid(f"must be non-empty text, not {value!r}")


def whole(minimum: int, unit: str) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise Invalid(f"must be a whole number of {unit} of at least {minimum}, not {value!r}")
        return value

    return check


def length(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        hint = "; write [TBD] alone when the lengths are not decided" if is_tbd(value) else ""
        raise Invalid(f"must be a whole number of minutes greater than 0, not {value!r}{hint}")
    return value


def lengths_or_tbd(value: object) -> list[object] | None:
    """None for TBD; otherwise the list, whose items `length` reads."""
    if is_tbd(value) or (isinstance(value, list) and len(value) == 1 and is_tbd(value[0])):
        return None
    if not isinstance(value, list) or not value:
        raise Invalid(
            f"must be a list of lengths in minutes like [15, 20], or [TBD]; not {value!r}"
        )
    return list(value)


def price_cents(value: object) -> int | None:
    if is_tbd(value):
        return None
    hint = "write US dollars like 119 or 119.50, or TBD"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"must be a price: {hint}; not {value!r}")
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    exponent = amount.normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # inf or nan
        raise Invalid(f"must be a price: {hint}; not {value!r}")
    if amount < 0:
        raise Invalid(f"is below zero ({value}); a price must be 0 or more: {hint}")
    if exponent < -2:
        cents = amount.quantize(Decimal("0.01"))
        raise Invalid(f"has more than 2 decimal places ({value}); round it to cents, e.g. {cents}")
    return int(amount * 100)


def dollars(value: object) -> int:
    cents = price_cents(value)
    if cents is None:
        raise Invalid("must be an amount in US dollars like 40 or 12.50; TBD is not allowed here")
    return cents


def percent(value: object) -> Decimal:
    hint = "write a number from 0 to 100 like 10 or 12.5 (no % sign)"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise Invalid(f"must be a percentage: {hint}; not {value!r}")
    # repr() keeps a float's written digits: Decimal(0.1) would be 0.1000000000000000055...
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite() or not Decimal(0) <= amount <= Decimal(100):
        raise Invalid(f"is out of range ({value}); {hint}")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise Invalid(f"has more than 2 decimal places ({value}); round it, e.g. {amount:.2f}")
    return amount


def multi_service_count(value: object) -> MultiServiceCount:
    if isinstance(value, str):
        try:
            return MultiServiceCount(value)
        except ValueError:
            pass
    choices = " or ".join(c.value for c in MultiServiceCount)
    raise Invalid(f"must be {choices}, not {value!r}")


def promotion_code(value: object) -> str:
    if isinstance(value, str) and _CODE.fullmatch(value):
        return value
    hint = f"; write it in capitals: {value.upper()}" if isinstance(value, str) else ""
    raise Invalid(
        f"promotion code {value!r} must be 3 to 32 capital letters, digits, '-' or '_', "
        f"starting with a letter or digit (like WELCOME15){hint}"
    )


def tax_id(value: object) -> str | None:
    if value is None or is_tbd(value):
        return None
    if isinstance(value, str) and _EIN.fullmatch(value.strip()):
        return value.strip()
    raise Invalid(f'must be an EIN in quotes like "12-3456789", or TBD; not {value!r}')


def launch_date(value: object) -> dt.date | None:
    if value is None or is_tbd(value):
        return None
    return calendar_date(value)


def calendar_date(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(f"must be a date like 2026-12-25, not {value!r}")


def local_datetime(value: object) -> dt.datetime:
    parsed: dt.datetime | None = value if isinstance(value, dt.datetime) else None
    if isinstance(value, str) and len(value.strip()) > 10:
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is not None:
        raise Invalid(
            "must be a local date and time in the clinic's zone, without an offset, "
            f"like 2026-12-10T12:00; not {value!r}"
        )
    return parsed


def timezone(value: object) -> str:
    if isinstance(value, str) and value.strip():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value
    close = difflib.get_close_matches(str(value), sorted(available_timezones()), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise Invalid(f"{value!r} is not an IANA time zone; {hint}use a name like America/Chicago")


def mailbox(value: object) -> str:
    """A Microsoft 365 mailbox: its SMTP address, compared without case."""
    if isinstance(value, str) and _MAILBOX.fullmatch(value.strip()):
        return value.strip().lower()
    raise Invalid(
        f"mailbox {value!r} must be the practitioner's email address in Microsoft 365 "
        "(like elena.marsh@clinic.example)"
    )


def zip_code(value: object) -> str:
    if isinstance(value, str) and _ZIP.fullmatch(value.strip()):
        return value.strip()
    raise Invalid(f'must be a 5-digit US ZIP code in quotes, like "78701"; not {value!r}')


def currency(value: object) -> str:
    if value == "USD":
        return "USD"
    raise Invalid(f"must be USD (prices in the services block are US dollars), not {value!r}")


def interval(value: object) -> LocalInterval:
    match = _RANGE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise Invalid(f'must be hours like "09:00-12:00" (24-hour HH:MM-HH:MM), not {value!r}')
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if max(h1, h2) > 23 or max(m1, m2) > 59:
        raise Invalid(f"{value!r} is not a time of day; hours run 00-23 and minutes 00-59")
    start, end = dt.time(h1, m1), dt.time(h2, m2)
    if end <= start:
        raise Invalid(
            f"end {end:%H:%M} is not after start {start:%H:%M}; write the earlier time first "
            "(hours past midnight are not supported)"
        )
    return LocalInterval(start, end)


def _show(hours: LocalInterval) -> str:
    return f"{hours.start:%H:%M}-{hours.end:%H:%M}"


def no_overlap(ranges: list[LocalInterval]) -> list[LocalInterval]:
    """One day's hours: no two ranges overlap."""
    order = sorted(range(len(ranges)), key=lambda i: ranges[i].start)
    for before, after in itertools.pairwise(order):
        if ranges[after].start < ranges[before].end:
            first, second = sorted((before, after))  # blame the one written later
            raise Invalid(
                f"{_show(ranges[second])} overlaps {_show(ranges[first])} (item [{first}]) "
                "on the same day; merge them or make them not overlap",
                at=f"[{second}]",
            )
    return ranges


def distinct(values: list[T] | None) -> list[T] | None:
    """A list that names each value once."""
    for i, value in enumerate(values or ()):
        if value in (values or ())[:i]:
            raise Invalid(f"{value!r} is listed twice; keep it once", at=f"[{i}]")
    return values


def first_repeat(keys: Sequence[object]) -> int | None:
    """The index of the first key equal to an earlier one; None when all differ."""
    for i, found in enumerate(keys):
        if found in keys[:i]:
            return i
    return None


def calendly_uri(kind: str) -> Callable[[object], str]:
    """A Calendly resource URI of `kind` ("users", "event_types"), as Calendly's API and its
    Integrations page show them: https://api.calendly.com/users/AAAAAAAAAAAAAAAA."""

    def check(value: object) -> str:
        text = value.strip() if isinstance(value, str) else ""
        head, _, ident = text.rstrip("/").rpartition("/")
        if (
            text.startswith("https://")
            and head.endswith(f"/{kind}")
            and _CALENDLY_ID.fullmatch(ident)
        ):
            return text.rstrip("/")
        raise Invalid(
            f"{value!r} is not a Calendly {kind} URI; write the full URI, like "
            f"https://api.calendly.com/{kind}/AAAAAAAAAAAAAAAA (GET /users/me or "
            "GET /event_types shows them)"
        )

    return check
