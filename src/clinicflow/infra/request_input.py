"""What any request may carry, checked at the schema for every context: text the database can
store, and dates in a range the clinic's calendar arithmetic handles.

PostgreSQL cannot store a NUL character, and no UTF-8 encoder takes a lone surrogate (JSON can
spell both: "\\u0000", "\\ud800"); years near 1 or 9999 overflow as soon as a zone offset or a
day is added; an integer past an INTEGER column's range overflows the database's. Each reached
the database or the calendar as a 500. Every request body model derives from `RequestModel`,
which refuses the first two in any field, however nested; query and path parameters are
checked at the edge (gateway/request_text.py), typed `Day`/`Instant`, or bounded by
`LARGEST_STORED_INT`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

FIRST_YEAR, LAST_YEAR = 1900, 2200
# The largest integer an INTEGER column holds on both databases (PostgreSQL's is 32 bits;
# SQLite's takes 64): an id or an offset a request gives is bounded by it, or a larger one
# reached the driver as a 500 (PostgreSQL: "integer out of range").
LARGEST_STORED_INT = 2**31 - 1
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000); remove it"
    return "contains a lone UTF-16 surrogate (\\ud800-\\udfff); send valid Unicode text"


def _first_unstorable(value: Any) -> str | None:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, Mapping):
        items: Any = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return None
    for item in items:
        why = _first_unstorable(item)
        if why is not None:
            return why
    return None


def _check_year(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError(
            "date_out_of_range",
            "must be a date between the years {first} and {last}",
            {"first": FIRST_YEAR, "last": LAST_YEAR},
        )
    return value


def _sane_dates(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return _check_year(value)
    if isinstance(value, list | tuple):
        for item in value:
            _sane_dates(item)
    return value


class RequestModel(BaseModel):
    """The base of every request body: no unstorable text, no date outside the sane range."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        why = _first_unstorable(value)
        if why is not None:
            raise PydanticCustomError("unstorable_text", why)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _in_range(cls, value: Any) -> Any:
        return _sane_dates(value)


# Query parameters: a calendar day, an instant, or either (a day is read in the clinic's zone).
Day = Annotated[date, AfterValidator(_check_year)]
Instant = Annotated[datetime, AfterValidator(_check_year)]
AwareInstant = Annotated[AwareDatetime, AfterValidator(_check_year)]
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT: TypeAdapter[datetime] = TypeAdapter(datetime)


def day_or_instant(value: Any) -> Any:
    """A query's range bound as written: only a plain `YYYY-MM-DD` is a day; anything longer
    is a date-time, midnight included. (Pydantic alone reads an exact-midnight date-time as
    a date when a field may be either, losing its offset.)"""
    if not isinstance(value, str):
        return value
    if _PLAIN_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date; give YYYY-MM-DD") from None
    try:
        return _INSTANT.validate_python(value)
    except ValidationError:
        raise ValueError(
            f"{value!r} is neither a date (YYYY-MM-DD) nor a date-time "
            "(YYYY-MM-DDTHH:MM:SS with Z or an offset like -06:00)"
        ) from None


# A range bound in a query string: a day (the clinic's local day) or an instant.
DayOrInstant = Annotated[
    date | datetime, BeforeValidator(day_or_instant), AfterValidator(_check_year)
]
