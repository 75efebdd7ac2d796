"""IcsFeed against a web server on loopback publishing .ics files: RRULE/EXDATE/RECURRENCE-ID
expanded inside the window, transparent and cancelled events free, all-day events on the
clinic's local day across the DST change, 304 on an unchanged feed, failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from clinicflow.adapters.calendars.ics_feed import IcsFeed
from clinicflow.calendars.ports import BusyFeed, SourceUnavailable
from support.calendars_ics import ALL_DAY, CANCELLED, RECURRING, SINGLE, TRANSPARENT, vcalendar
from support.fake_ics_host import FakeIcsHost
from support.fake_vendor import serving

CHICAGO = ZoneInfo("America/Chicago")
WEEK_START = datetime(2026, 3, 1, 6, tzinfo=UTC)
WEEK_END = datetime(2026, 3, 15, 5, tzinfo=UTC)
WEEK = vcalendar(SINGLE, RECURRING, TRANSPARENT, CANCELLED, ALL_DAY)


@pytest.fixture
def ics_host() -> Iterator[FakeIcsHost]:
    yield from serving(FakeIcsHost())


def z(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


EXPECTED = [
    (z(2, 19), z(2, 20, 30)),
    (z(5, 15), z(5, 16)),
    (z(6, 15), z(6, 16)),
    (z(8, 14), z(8, 15)),  # CDT from Sunday the 8th
    (z(9, 5), z(10, 5)),  # all day Monday the 9th in Chicago
    (z(9, 14), z(9, 15)),
    (z(10, 20), z(10, 21)),  # moved occurrence
    (z(11, 14), z(11, 15)),
]


async def test_a_feed_is_expanded_inside_the_window_in_the_clinic_zone(
    ics_host: FakeIcsHost, http: httpx.AsyncClient
) -> None:
    url = ics_host.publish("/doctor1/basic.ics", WEEK)
    feed: BusyFeed = IcsFeed(http, {"doctor1": [url]}, zone=CHICAGO)

    (snapshot,) = await feed.snapshot(["doctor1", "nurse"], WEEK_START, WEEK_END)

    assert (snapshot.source, snapshot.practitioner) == ("ics", "doctor1")
    assert [(i.start, i.end) for i in snapshot.intervals] == EXPECTED
    assert await feed.changes("doctor1", None) is None


async def test_only_occurrences_overlapping_the_window_are_given(
    ics_host: FakeIcsHost, http: httpx.AsyncClient
) -> None:
    url = ics_host.publish("/doctor1/basic.ics", WEEK)
    feed = IcsFeed(http, {"doctor1": [url]}, zone=CHICAGO)

    found = await feed.live("doctor1", z(8, 14, 30), z(9, 6))

    assert [(i.start, i.end) for i in found] == [(z(8, 14), z(8, 15)), (z(9, 5), z(10, 5))]


async def test_an_unchanged_feed_is_answered_304_and_read_from_the_kept_copy(
    ics_host: FakeIcsHost, http: httpx.AsyncClient
) -> None:
    url = ics_host.publish("/doctor1/basic.ics", WEEK)
    feed = IcsFeed(http, {"doctor1": [url]}, zone=CHICAGO)

    first = await feed.live("doctor1", WEEK_START, WEEK_END)
    second = await feed.live("doctor1", WEEK_START, WEEK_END)
    ics_host.publish("/doctor1/basic.ics", vcalendar(SINGLE))
    third = await feed.live("doctor1", WEEK_START, WEEK_END)

    assert ics_host.statuses == [200, 304, 200]
    assert first == second
    assert [(i.start, i.end) for i in third] == [(z(2, 19), z(2, 20, 30))]


async def test_several_feeds_of_one_practitioner_are_united(
    ics_host: FakeIcsHost, http: httpx.AsyncClient
) -> None:
    work = ics_host.publish("/nurse/work.ics", vcalendar(SINGLE))
    school = ics_host.publish("/nurse/school.ics", vcalendar(ALL_DAY))
    feed = IcsFeed(http, {"nurse": [work, school]}, zone=CHICAGO)

    found = await feed.live("nurse", WEEK_START, WEEK_END)

    assert [(i.start, i.end) for i in found] == [(z(2, 19), z(2, 20, 30)), (z(9, 5), z(10, 5))]
    assert len({i.external_id for i in found}) == 2


@pytest.mark.parametrize("status", [404, 500, 503])
async def test_a_failing_feed_is_unavailable(
    ics_host: FakeIcsHost, http: httpx.AsyncClient, status: int
) -> None:
    url = ics_host.publish("/doctor1/basic.ics", WEEK)
    ics_host.failing = status
    feed = IcsFeed(http, {"doctor1": [url]}, zone=CHICAGO)

    with pytest.raises(SourceUnavailable) as raised:
        await feed.live("doctor1", WEEK_START, WEEK_END)
    assert "/doctor1/basic.ics" not in str(raised.value)  # a private feed's path is a secret


async def test_a_feed_that_is_not_icalendar_or_too_large_is_unavailable(
    ics_host: FakeIcsHost, http: httpx.AsyncClient
) -> None:
    garbage = ics_host.publish("/x/garbage.ics", "<html>Sign in</html>")
    large = ics_host.publish("/x/large.ics", WEEK)
    with pytest.raises(SourceUnavailable):
        await IcsFeed(http, {"a": [garbage]}, zone=CHICAGO).live("a", WEEK_START, WEEK_END)
    with pytest.raises(SourceUnavailable):
        await IcsFeed(http, {"a": [large]}, zone=CHICAGO, max_bytes=500).live(
            "a", WEEK_START, WEEK_END
        )
