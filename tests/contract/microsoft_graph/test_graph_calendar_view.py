"""The Microsoft Graph adapter against a fake Graph on loopback (support/fake_graph.py; fixtures in
this folder's conftest.py): calendarView delta: paging to the delta link, each event held once,
times across the DST change, additions/changes/removals, expired tokens and cursors off Graph.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from clinicflow.adapters.calendars.microsoft import MicrosoftCalendar
from clinicflow.calendars.domain.merge import merge
from clinicflow.calendars.ports import CursorExpired, SourceUnavailable
from clinicflow.shared.clock import FixedClock
from support.fake_graph import FakeGraph
from support.graph_contract import ELENA, add, at
from support.graph_servers import Sleeps, calendar_on


async def test_delta_pages_are_followed_to_the_delta_link_which_is_the_cursor(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    ids = [add(fake, ELENA, at(25, 8) + timedelta(hours=i)) for i in range(7)]
    add(fake, ELENA, at(24, 0) + timedelta(days=90))  # outside the 60-day window
    fake.page_size = 3

    delta = await calendar.changes("doctor1", None)

    assert delta is not None
    assert sorted(i.external_id for i in delta.upserted) == sorted(ids)
    assert not set(delta.removed) & set(ids)  # only getSchedule's names for them (below)
    assert delta.next_cursor is not None
    assert delta.next_cursor.startswith(f"{fake.graph_url}/users/")
    assert "$deltatoken=" in delta.next_cursor
    assert fake.calls("GET", "calendarView/delta") == 3  # 3 + 3 + 1, by the next links
    assert all(i.etag for i in delta.upserted)


async def test_after_a_full_sync_and_the_first_delta_round_each_event_is_held_once(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    soon = add(fake, ELENA, at(25, 9))
    maybe = add(fake, ELENA, at(26, 9), show_as="tentative")
    later = at(24, 0) + timedelta(days=90)
    add(fake, ELENA, later)  # beyond the delta's 60 days: getSchedule's item only

    # A full sync as CalendarsService stores it: the snapshot, then the new cursor's round.
    (snapshot,) = await calendar.snapshot(["doctor1"], at(24, 0), at(24, 0) + timedelta(days=100))
    first = await calendar.changes("doctor1", None)
    assert first is not None
    held = merge(merge({}, snapshot), first)

    assert all(i.external_id.startswith("fb:") for i in snapshot.intervals)  # no ids
    assert sorted((i.start, i.external_id) for i in held.values()) == [
        (at(25, 9), soon),
        (at(26, 9), maybe),
        (later, snapshot.intervals[-1].external_id),
    ]

    # Deleted in Outlook: the next round drops it, and no copy of it stays behind.
    box = fake.mailbox(ELENA)
    with fake.locked():
        box.events[soon].deleted = True
        box.touch(box.events[soon])
    second = await calendar.changes("doctor1", first.next_cursor)
    assert second is not None
    assert sorted(i.start for i in merge(held, second).values()) == [at(26, 9), later]


async def test_times_graph_gives_in_a_zone_are_read_across_the_dst_change(
    fake: FakeGraph, http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    october = FixedClock(datetime(2026, 10, 27, 13, tzinfo=UTC))  # the delta window covers it
    calendar = calendar_on(fake, http, october, sleeps)
    # What Graph answers to `Prefer: outlook.timezone="America/Chicago"`: wall-clock pairs.
    fake.zone = "America/Chicago"
    chicago = ZoneInfo("America/Chicago")
    for day in (31, 1, 2):  # Saturday CDT, Sunday (the change, at 02:00), Monday CST
        month = 10 if day == 31 else 11
        start = datetime(2026, month, day, 9, tzinfo=chicago)
        add(fake, ELENA, start)
    assert fake.events(ELENA)[0]["start"]["timeZone"] == "UTC"  # the fake's own view
    expected = [
        (datetime(2026, 10, 31, 14, tzinfo=UTC), datetime(2026, 10, 31, 15, tzinfo=UTC)),
        (datetime(2026, 11, 1, 15, tzinfo=UTC), datetime(2026, 11, 1, 16, tzinfo=UTC)),
        (datetime(2026, 11, 2, 15, tzinfo=UTC), datetime(2026, 11, 2, 16, tzinfo=UTC)),
    ]
    window = (datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))

    (snapshot,) = await calendar.snapshot(["doctor1"], *window)
    first = await calendar.changes("doctor1", None)

    assert [(i.start, i.end) for i in snapshot.intervals] == expected
    assert first is not None
    assert sorted((i.start, i.end) for i in first.upserted) == expected


async def test_a_second_round_brings_additions_changes_and_removals(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    kept = add(fake, ELENA, at(25, 8))
    moved = add(fake, ELENA, at(25, 10))
    deleted = add(fake, ELENA, at(25, 12))
    freed = add(fake, ELENA, at(25, 14))
    first = await calendar.changes("doctor1", None)
    assert first is not None

    box = fake.mailbox(ELENA)
    with fake.locked():
        box.events[moved].start, box.events[moved].end = at(26, 10), at(26, 11)
        box.touch(box.events[moved])
        box.events[deleted].deleted = True
        box.touch(box.events[deleted])
        box.events[freed].show_as = "free"
        box.touch(box.events[freed])
        far = box.add("far away", at(24, 0) + timedelta(days=200), at(24, 1) + timedelta(days=200))
        far.deleted = True
        box.touch(far)
    added = add(fake, ELENA, at(27, 9), show_as="oof")

    second = await calendar.changes("doctor1", first.next_cursor)

    assert second is not None
    assert {(i.external_id, i.start) for i in second.upserted} == {
        (moved, at(26, 10)),
        (added, at(27, 9)),
    }
    assert deleted in second.removed
    assert freed in second.removed
    assert kept not in second.removed
    assert second.next_cursor not in (None, first.next_cursor)
    third = await calendar.changes("doctor1", second.next_cursor)
    assert third is not None
    assert (third.upserted, third.removed) == ((), ())


@pytest.mark.parametrize("gone", [False, True], ids=["syncStateNotFound", "410 Gone"])
async def test_an_expired_delta_token_asks_for_a_full_resync(
    calendar: MicrosoftCalendar, fake: FakeGraph, gone: bool
) -> None:
    first = await calendar.changes("doctor1", None)
    assert first is not None
    fake.expire_delta_tokens()
    fake.gone = gone

    with pytest.raises(CursorExpired):
        await calendar.changes("doctor1", first.next_cursor)


async def test_a_cursor_pointing_off_graph_is_not_followed(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    before = len(fake.log)
    with pytest.raises(SourceUnavailable):
        await calendar.changes("doctor1", "https://evil.example/v1.0/users/x/calendarView/delta")
    assert len(fake.log) == before
