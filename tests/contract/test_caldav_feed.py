"""CalDavFeed against a real CalDAV server (Radicale, started by the fixture on loopback):
single, recurring (EXDATE, a moved occurrence), transparent, cancelled and all-day events in
a week that crosses the DST change in America/Chicago; both ways of reading (calendar-query,
free-busy-query); sync tokens; an unreachable server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from clinicflow.adapters.calendars.caldav_feed import (
    CalDavCalendar,
    CalDavFeed,
    ChangedSinceCursor,
)
from clinicflow.calendars.domain.busy import ShowAs
from clinicflow.calendars.ports import BusyFeed, CursorExpired, SourceUnavailable
from support.calendars_ics import (
    ALL_DAY,
    CANCELLED,
    RECURRING,
    SINGLE,
    TRANSPARENT,
    vcalendar,
    vevent,
)
from support.radicale_server import PASSWORD, Radicale

pytestmark = pytest.mark.slow

CHICAGO = ZoneInfo("America/Chicago")
WEEK_START = datetime(2026, 3, 1, 6, tzinfo=UTC)  # Sunday 1 March, local midnight
WEEK_END = datetime(2026, 3, 15, 5, tzinfo=UTC)


def z(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


# What the clinic must see as busy in the fixture week, in UTC.
EXPECTED = [
    (z(2, 19), z(2, 20, 30)),  # single: 13:00–14:30 CST
    (z(5, 15), z(5, 16)),  # rounds 09:00 CST
    (z(6, 15), z(6, 16)),
    # the 7th is excluded; from the 8th 09:00 is CDT (-5)
    (z(8, 14), z(8, 15)),
    (z(9, 5), z(10, 5)),  # all day Monday 9 March, Chicago midnight to midnight (CDT)
    (z(9, 14), z(9, 15)),
    (z(10, 20), z(10, 21)),  # the 10th moved to 15:00 CDT
    (z(11, 14), z(11, 15)),
]


def fixture_week(radicale: Radicale, user: str) -> str:
    name = f"cal-{uuid.uuid4().hex[:8]}"
    url = radicale.make_calendar(user, name)
    for key, text in {
        "single": SINGLE,
        "rounds": RECURRING,
        "transparent": TRANSPARENT,
        "cancelled": CANCELLED,
        "allday": ALL_DAY,
    }.items():
        radicale.put(user, name, key, vcalendar(text))
    return url


def feed_for(
    http: httpx.AsyncClient, calendars: dict[str, CalDavCalendar], **options: float
) -> CalDavFeed:
    return CalDavFeed(http, calendars, zone=CHICAGO, **options)  # type: ignore[arg-type]


def account(url: str, user: str, read: str = "events") -> CalDavCalendar:
    return CalDavCalendar(url=url, username=user, password=PASSWORD, read=read)  # type: ignore[arg-type]


async def test_a_snapshot_expands_the_week_in_the_clinic_zone_across_dst(
    radicale: Radicale, http: httpx.AsyncClient
) -> None:
    feed: BusyFeed = feed_for(
        http, {"doctor1": account(fixture_week(radicale, "doctor1"), "doctor1")}
    )

    (snapshot,) = await feed.snapshot(["doctor1", "nurse"], WEEK_START, WEEK_END)

    assert (snapshot.source, snapshot.practitioner) == ("caldav", "doctor1")
    assert (snapshot.window_start, snapshot.window_end) == (WEEK_START, WEEK_END)
    assert [(i.start, i.end) for i in snapshot.intervals] == EXPECTED
    assert all(i.show_as is ShowAs.BUSY and i.etag for i in snapshot.intervals)


async def test_occurrences_keep_their_keys_and_a_moved_one_is_named_by_its_original_time(
    radicale: Radicale, http: httpx.AsyncClient
) -> None:
    feed = feed_for(http, {"doctor1": account(fixture_week(radicale, "doctor1"), "doctor1")})

    first = await feed.live("doctor1", WEEK_START, WEEK_END)
    again = await feed.live("doctor1", WEEK_START, WEEK_END)

    keys = [i.external_id for i in first]
    assert keys == [i.external_id for i in again]
    assert len(set(keys)) == len(keys)
    moved = next(i for i in first if i.start == z(10, 20))
    assert moved.external_id == "daily-1#20260310T140000Z"


async def test_live_reads_one_practitioner_inside_the_asked_range(
    radicale: Radicale, http: httpx.AsyncClient
) -> None:
    feed = feed_for(http, {"doctor1": account(fixture_week(radicale, "doctor1"), "doctor1")})

    found = await feed.live("doctor1", z(8, 0), z(9, 12))

    assert [(i.start, i.end) for i in found] == [(z(8, 14), z(8, 15)), (z(9, 5), z(10, 5))]
    assert await feed.live("nurse", z(8, 0), z(9, 12)) == ()


async def test_free_busy_reading_gives_the_timed_busy_periods_and_nothing_else(
    radicale: Radicale, http: httpx.AsyncClient
) -> None:
    url = fixture_week(radicale, "doctor1")
    feed = feed_for(http, {"doctor1": account(url, "doctor1", read="freebusy")})

    found = await feed.live("doctor1", WEEK_START, WEEK_END)

    assert feed.mode("doctor1") == "freebusy"
    # Transparent and cancelled events are not busy here either. The server places the
    # all-day event by its own zone (Radicale: UTC midnight, not Chicago's) and merges the
    # 9th's rounds into it: the reason `events` is the default (docs/calendars.md "CalDAV").
    assert [(i.start, i.end) for i in found] == [
        (z(2, 19), z(2, 20, 30)),
        (z(5, 15), z(5, 16)),
        (z(6, 15), z(6, 16)),
        (z(8, 14), z(8, 15)),
        (z(9, 0), z(10, 0)),
        (z(10, 20), z(10, 21)),
        (z(11, 14), z(11, 15)),
    ]
    assert len({i.external_id for i in found}) == len(found)


async def test_a_tentative_event_blocks_as_tentative(
    radicale: Radicale, http: httpx.AsyncClient
) -> None:
    name = f"cal-{uuid.uuid4().hex[:8]}"
    url = radicale.make_calendar("nurse", name)
    radicale.put(
        "nurse",
        name,
        "maybe",
        vcalendar(
            vevent(
                "maybe-1",
                "DTSTART:20260304T160000Z",
                "DTEND:20260304T170000Z",
                "STATUS:TENTATIVE",
            )
        ),
    )
    feed = feed_for(http, {"nurse": account(url, "nurse")})

    (interval,) = await feed.live("nurse", WEEK_START, WEEK_END)

    assert (interval.start, interval.show_as, interval.show_as.blocks) == (
        z(4, 16),
        ShowAs.TENTATIVE,
        True,
    )


async def test_sync_tokens_say_nothing_changed_or_send_the_caller_back_to_a_snapshot(
    radicale: Radicale, http: httpx.AsyncClient
) -> None:
    name = f"cal-{uuid.uuid4().hex[:8]}"
    url = radicale.make_calendar("doctor2", name)
    radicale.put("doctor2", name, "single", vcalendar(SINGLE))
    feed = feed_for(http, {"doctor2": account(url, "doctor2")})

    started = await feed.changes("doctor2", None)
    assert started is not None
    assert started.next_cursor
    assert (started.upserted, started.removed) == ((), ())
    quiet = await feed.changes("doctor2", started.next_cursor)
    assert quiet is not None
    assert quiet.upserted == ()
    assert quiet.next_cursor

    radicale.put("doctor2", name, "allday", vcalendar(ALL_DAY))
    with pytest.raises(ChangedSinceCursor):
        await feed.changes("doctor2", quiet.next_cursor)
    with pytest.raises(CursorExpired):
        await feed.changes("doctor2", "http://radicale.org/ns/sync/not-a-token")


async def test_a_deleted_event_is_gone_from_the_next_snapshot(
    radicale: Radicale, http: httpx.AsyncClient
) -> None:
    url = fixture_week(radicale, "doctor1")
    feed = feed_for(http, {"doctor1": account(url, "doctor1")})
    radicale.delete("doctor1", url.rstrip("/").rsplit("/", 1)[1], "rounds")

    found = await feed.live("doctor1", WEEK_START, WEEK_END)

    assert [(i.start, i.end) for i in found] == [(z(2, 19), z(2, 20, 30)), (z(9, 5), z(10, 5))]


async def test_an_unreachable_server_is_unavailable(http: httpx.AsyncClient) -> None:
    feed = feed_for(
        http, {"doctor1": account("http://127.0.0.1:9/doctor1/cal/", "doctor1")}, timeout=2
    )

    with pytest.raises(SourceUnavailable):
        await feed.snapshot(["doctor1"], WEEK_START, WEEK_END)


async def test_the_password_is_not_in_the_calendars_repr() -> None:
    calendar = account("https://dav.example/cal/", "doctor1")

    assert PASSWORD not in repr(calendar)
