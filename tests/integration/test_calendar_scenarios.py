"""External calendars end to end through the API: a source's busy time blocks slots, the
poll catches a lost push, an expired cursor resyncs with nothing lost, a source down behind
an open breaker is not called while the others still count, a practitioner whose every
source is down past its budget is not offered, and the live check at booking time refuses a
slot the store did not know was taken.

The feeds are `BoardFeed`s (tests/support/calendar_feeds.py): our port, in memory; the
vendors' adapters are tested against their own fake servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.calendars.domain.busy import Delta
from clinicflow.calendars.ports import BusyFeed
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import DOCTOR1_AVAILABILITY, WED_10, app_over, assert_problem, booking
from support.calendar_feeds import BoardFeed

pytestmark = pytest.mark.both_databases

START = datetime.fromisoformat(WED_10)
LATER = "2026-11-25T11:00:00-06:00"


@pytest.fixture
def outlook() -> BoardFeed:
    return BoardFeed("microsoft", ("doctor1",))


@pytest.fixture
def calendly() -> BoardFeed:
    return BoardFeed("calendly", ("doctor1",), cursors=False)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "calendar_breaker_threshold": 2,
            "calendar_staleness_minutes": 30,
            "calendar_live_timeout_seconds": 0.5,
        }
    )


@pytest.fixture
def calendar_feeds(outlook: BoardFeed, calendly: BoardFeed) -> list[BusyFeed]:
    return [outlook, calendly]


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with app_over(container) as http:
        yield http


async def starts(client: httpx.AsyncClient) -> list[str]:
    resp = await client.get(DOCTOR1_AVAILABILITY)
    assert resp.status_code == 200, resp.text
    return [s["start"] for s in resp.json()["slots"]]


async def bookings(container: Container) -> int:
    async with container.db.read() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(appointments))).scalar_one()
        )


async def test_an_interval_from_a_source_blocks_the_slot_and_drops_the_cached_answer(
    container: Container, client: httpx.AsyncClient, outlook: BoardFeed
) -> None:
    await container.calendars.service.sync_all()
    before = await starts(client)
    assert WED_10 in before
    assert LATER in before
    assert await starts(client) == before  # cached

    # A push (a change notification) lands: the cached answer is not served again.
    meeting = outlook.add("doctor1", "m1", START, START + timedelta(minutes=30))
    assert await container.calendars.service.apply(Delta("microsoft", "doctor1", (meeting,)))

    after = await starts(client)
    assert WED_10 not in after
    assert LATER in after


async def test_a_lost_push_is_caught_by_the_next_poll(
    container: Container, client: httpx.AsyncClient, outlook: BoardFeed, clock: FixedClock
) -> None:
    await container.calendars.service.sync_all()
    assert WED_10 in await starts(client)

    outlook.add("doctor1", "m1", START, START + timedelta(minutes=30))  # no notification
    assert WED_10 in await starts(client)

    clock.advance(timedelta(minutes=5))  # the poll's interval
    done = await container.jobs.run_due()
    assert done.get("calendar_poll") == 1
    assert WED_10 not in await starts(client)


async def test_an_expired_cursor_resyncs_in_full_and_no_interval_is_lost(
    container: Container, client: httpx.AsyncClient, outlook: BoardFeed
) -> None:
    outlook.add("doctor1", "m1", START, START + timedelta(minutes=30))
    await container.calendars.service.sync_all()
    outlook.add("doctor1", "m2", START + timedelta(hours=1), START + timedelta(hours=1, minutes=30))
    outlook.forgot_cursors = True

    outcomes = await container.calendars.service.sync(outlook)

    assert [o.kind for o in outcomes] == ["full"]
    free = await starts(client)
    assert WED_10 not in free
    assert LATER not in free
    [status] = await container.calendars.service.status()
    assert {s.source: s.intervals for s in status.sources} == {"microsoft": 2, "calendly": 0}


async def test_a_source_down_with_its_breaker_open_is_not_called_and_the_others_count(
    container: Container, client: httpx.AsyncClient, outlook: BoardFeed, calendly: BoardFeed
) -> None:
    calendly.add("doctor1", "c1", START, START + timedelta(minutes=30))  # known before
    await container.calendars.service.sync_all()
    calendly.down = True
    await container.calendars.service.sync(calendly, force=True)  # fails: the breaker opens
    [feed] = [f for f in container.calendars.feeds if f.name == "calendly"]
    assert await feed.state() == "open"
    asked = calendly.total_calls()

    outlook.add("doctor1", "m1", START + timedelta(hours=1), START + timedelta(hours=1, minutes=30))
    outcomes = await container.calendars.service.sync_all(force=True)

    assert calendly.total_calls() == asked  # short-circuited: not called
    assert {(o.source, o.kind) for o in outcomes} == {
        ("microsoft", "delta"),
        ("calendly", "failed"),
    }
    free = await starts(client)
    assert WED_10 not in free  # what Calendly said before it went down still blocks
    assert LATER not in free  # and Outlook's new meeting
    assert "2026-11-25T10:30:00-06:00" in free  # the practitioner is still offered


async def test_every_source_down_beyond_its_budget_and_the_practitioner_is_not_offered(
    container: Container,
    client: httpx.AsyncClient,
    outlook: BoardFeed,
    calendly: BoardFeed,
    clock: FixedClock,
) -> None:
    await container.calendars.service.sync_all()
    assert await starts(client)
    outlook.down = calendly.down = True

    clock.advance(timedelta(minutes=20))
    await container.calendars.service.sync_all(force=True)
    assert await starts(client)  # down, but inside the budget: still offered

    clock.advance(timedelta(minutes=15))  # 35 minutes since the last success
    await container.calendars.service.sync_all(force=True)
    assert await starts(client) == []
    assert_problem(await client.post("/v1/bookings", json=booking()), 409, "slot_unavailable")


async def test_the_live_check_finds_a_conflict_during_booking_and_nothing_is_booked(
    container: Container, client: httpx.AsyncClient, outlook: BoardFeed
) -> None:
    await container.calendars.service.sync_all()
    assert WED_10 in await starts(client)
    outlook.add("doctor1", "m1", START, START + timedelta(minutes=30))  # store not told yet

    refused = await client.post("/v1/bookings", json=booking())

    assert_problem(refused, 409, "slot_unavailable")
    assert await bookings(container) == 0
    await container.calendars.stored.settled()  # what the live check found was stored
    assert WED_10 not in await starts(client)
    made = await client.post("/v1/bookings", json=booking(start=LATER))
    assert made.status_code == 201, made.text
