"""Range bounds in query strings (`start`/`end` of availability, `from`/`to` of the bookings
list): a date-time is the instant it names, midnight or not, whatever its offset; only a
plain date means a whole local day of the clinic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from clinicflow.booking.schemas import bound
from clinicflow.infra.request_input import DayOrInstant, day_or_instant

CHICAGO = ZoneInfo("America/Chicago")
ZONES = [CHICAGO, ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Apia"), ZoneInfo("UTC")]
QUERY: TypeAdapter[date | datetime] = TypeAdapter(DayOrInstant)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
clock_times = st.one_of(
    st.just(time(0)),  # midnight: the case that used to turn into a whole day
    st.times().map(lambda t: t.replace(microsecond=0)),
)


def _written(at: datetime, zulu: bool) -> str:
    text = at.isoformat()
    return text.replace("+00:00", "Z") if zulu else text


@given(days, clock_times, offsets, st.booleans(), st.sampled_from(ZONES), st.booleans())
def test_a_date_time_is_the_instant_it_names_as_either_bound(
    day: date,
    at: time,
    offset: timezone,
    zulu: bool,
    clinic: ZoneInfo,
    inclusive_end: bool,
) -> None:
    instant = datetime.combine(day, at, tzinfo=offset)
    text = _written(instant, zulu and offset.utcoffset(None) == timedelta(0))

    parsed = day_or_instant(text)

    assert isinstance(parsed, datetime)
    assert QUERY.validate_python(text) == parsed
    resolved = bound(parsed, clinic, inclusive_end=inclusive_end)
    assert resolved == instant
    assert resolved is not None
    assert resolved.utcoffset() == offset.utcoffset(None)


@given(days, clock_times, st.sampled_from(ZONES))
def test_a_date_time_without_offset_is_clinic_local(day: date, at: time, clinic: ZoneInfo) -> None:
    text = datetime.combine(day, at).isoformat()

    assert bound(day_or_instant(text), clinic, inclusive_end=True) == datetime.combine(
        day, at, tzinfo=clinic
    )


@given(days, st.sampled_from(ZONES))
def test_only_a_plain_date_is_a_whole_local_day(day: date, clinic: ZoneInfo) -> None:
    parsed = QUERY.validate_python(day.isoformat())

    assert type(parsed) is date
    assert bound(parsed, clinic, inclusive_end=False) == datetime.combine(day, time(0), clinic)
    assert bound(parsed, clinic, inclusive_end=True) == datetime.combine(
        day + timedelta(days=1), time(0), clinic
    )


def test_the_issue_window_is_six_utc_hours() -> None:
    lo = bound(QUERY.validate_python("2026-12-10T00:00:00Z"), CHICAGO, inclusive_end=False)
    hi = bound(QUERY.validate_python("2026-12-10T06:00:00Z"), CHICAGO, inclusive_end=True)

    assert (lo, hi) == (datetime(2026, 12, 10, tzinfo=UTC), datetime(2026, 12, 10, 6, tzinfo=UTC))


@pytest.mark.parametrize("text", ["2026-13-10", "2026-12-10T25:00", "tomorrow", "2026-12-1"])
def test_a_bound_that_is_neither_says_what_to_give(text: str) -> None:
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        QUERY.validate_python(text)
