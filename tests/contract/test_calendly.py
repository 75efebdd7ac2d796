"""CalendlyFeed (the calendars' BusyFeed on Calendly API v2) against a fake Calendly on
loopback: the 7-day rule, buffered and external busy items, the rate limit's 429s waited
out, outages as SourceUnavailable, and the circuit breaker.

Time for the rate limit is a `Ticker` shared by the adapter's gate and the fake's window:
waiting advances it, nobody sleeps."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clinicflow.adapters.calendars._calendly_http import (
    CalendlyCircuitOpen,
    CalendlyClient,
    CalendlyRefused,
    Pacing,
    RateGate,
    calendly_breaker,
)
from clinicflow.adapters.calendars.calendly import CalendlyFeed, digest
from clinicflow.calendars.ports import BusyFeed, SourceUnavailable
from clinicflow.shared.clock import FixedClock
from support.fake_calendly import TOKEN, FakeCalendly
from support.fake_calendly_wire import user_uri
from support.fake_vendor import serving

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
DOCTOR1 = user_uri("doctor1")
NURSE = user_uri("nurse")
USERS = {"doctor1": DOCTOR1, "nurse": NURSE}


class Ticker:
    """A monotonic clock that moves only when someone waits on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waited: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waited.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def fake(ticker: Ticker) -> Iterator[FakeCalendly]:
    yield from serving(FakeCalendly(monotonic=ticker.monotonic))


def feed_on(
    fake: FakeCalendly,
    http: httpx.AsyncClient,
    ticker: Ticker,
    *,
    threshold: int = 5,
    pacing: Pacing | None = None,
    live_timeout: float = 1.5,
) -> CalendlyFeed:
    client = CalendlyClient(
        http,
        TOKEN,
        breaker=calendly_breaker(threshold=threshold),
        gate=RateGate(monotonic=ticker.monotonic, sleep=ticker.sleep),
        pacing=pacing or Pacing(outage_wait=0.0),
        base_url=fake.url,
    )
    return CalendlyFeed(client, USERS, FixedClock(NOW), live_timeout=live_timeout)


@pytest.fixture
def feed(fake: FakeCalendly, http: httpx.AsyncClient, ticker: Ticker) -> CalendlyFeed:
    return feed_on(fake, http, ticker)


async def test_the_feed_is_a_busy_feed_that_covers_the_mapped_practitioners(
    feed: CalendlyFeed,
) -> None:
    port: BusyFeed = feed
    assert port.name == "calendly"
    assert feed.covers("doctor1")
    assert feed.covers("nurse")
    assert not feed.covers("gaps_coach")
    assert await feed.changes("doctor1", None) is None  # no cursor: the store polls


async def test_sixty_days_are_nine_calls_of_at_most_seven_days_per_practitioner(
    feed: CalendlyFeed, fake: FakeCalendly
) -> None:
    end = NOW + timedelta(days=60)
    snapshots = await feed.snapshot(["doctor1", "nurse", "gaps_coach"], NOW, end)

    assert [(s.practitioner, s.window_start, s.window_end) for s in snapshots] == [
        ("doctor1", NOW, end),
        ("nurse", NOW, end),
    ]
    for user in (DOCTOR1, NURSE):
        calls = sorted((s, e) for u, s, e in fake.busy_calls if u == user)
        assert len(calls) == 9
        assert all(e - s <= timedelta(days=7) for s, e in calls)
        assert calls[0][0] == NOW
        assert calls[-1][1] == end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(calls))  # no gap


async def test_calendly_items_block_their_buffered_times_and_external_items_get_stable_ids(
    feed: CalendlyFeed, fake: FakeCalendly
) -> None:
    visit = NOW + timedelta(days=2)
    event = fake.add_booking(
        DOCTOR1, visit, visit + timedelta(minutes=30), before_min=15, after_min=10
    )
    lunch = NOW + timedelta(days=3)
    fake.add_external(DOCTOR1, lunch, lunch + timedelta(hours=1))

    (snapshot,) = await feed.snapshot(["doctor1"], NOW, NOW + timedelta(days=14))
    booked, external = snapshot.intervals
    assert (booked.external_id, booked.start, booked.end) == (
        event,
        visit - timedelta(minutes=15),
        visit + timedelta(minutes=40),
    )
    assert (external.start, external.end) == (lunch, lunch + timedelta(hours=1))
    assert external.external_id == digest("doctor1", lunch, lunch + timedelta(hours=1))
    again = await feed.snapshot(["doctor1"], NOW, NOW + timedelta(days=14))
    assert again[0].intervals == snapshot.intervals
    assert {i.source for i in snapshot.intervals} == {"calendly"}


async def test_an_item_across_two_windows_is_kept_once(
    feed: CalendlyFeed, fake: FakeCalendly
) -> None:
    edge = NOW + timedelta(days=7)
    fake.add_external(DOCTOR1, edge - timedelta(hours=1), edge + timedelta(hours=1))
    (snapshot,) = await feed.snapshot(["doctor1"], NOW, NOW + timedelta(days=14))
    assert len(fake.busy_calls) == 2
    assert len(snapshot.intervals) == 1


async def test_the_fake_refuses_a_range_longer_than_seven_days_like_calendly(
    fake: FakeCalendly, http: httpx.AsyncClient
) -> None:
    answer = await http.get(
        f"{fake.url}/user_busy_times",
        params={
            "user": DOCTOR1,
            "start_time": "2026-11-24T15:00:00.000000Z",
            "end_time": "2026-12-01T15:00:01.000000Z",
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 400
    assert answer.json()["details"][0]["parameter"] == "end_time"
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
        answer.headers
    )


async def test_a_start_in_the_past_is_asked_from_now(
    feed: CalendlyFeed, fake: FakeCalendly
) -> None:
    (snapshot,) = await feed.snapshot(["doctor1"], NOW - timedelta(days=3), NOW + timedelta(days=1))
    assert snapshot.window_start == NOW
    assert fake.busy_calls == [(DOCTOR1, NOW, NOW + timedelta(days=1))]


async def test_429s_are_waited_out_together_and_the_snapshot_completes(
    feed: CalendlyFeed, fake: FakeCalendly, ticker: Ticker
) -> None:
    fake.limit = 5
    fake.add_external(DOCTOR1, NOW + timedelta(days=40), NOW + timedelta(days=40, hours=1))

    (snapshot,) = await feed.snapshot(["doctor1"], NOW, NOW + timedelta(days=60))

    assert len(snapshot.intervals) == 1
    assert len(fake.busy_calls) == 9  # every window answered in the end
    assert 1 <= fake.rate_limited <= 4  # the calls beside a refused one waited for the reset
    assert sum(ticker.waited) >= 59  # X-RateLimit-Reset honoured: the window reopened


async def test_a_rate_limit_that_never_lifts_is_source_unavailable(
    feed: CalendlyFeed, fake: FakeCalendly
) -> None:
    fake.limit = 0
    with pytest.raises(SourceUnavailable, match="rate limited"):
        await feed.snapshot(["doctor1"], NOW, NOW + timedelta(days=2))
    assert fake.rate_limited == 4  # the first try and three waits


async def test_a_5xx_is_retried_once_then_source_unavailable(
    feed: CalendlyFeed, fake: FakeCalendly
) -> None:
    fake.failing = 503
    with pytest.raises(SourceUnavailable, match="503"):
        await feed.snapshot(["doctor1"], NOW, NOW + timedelta(days=2))
    assert fake.requests == 2
    fake.failing = None
    fake.answers = [500]
    (snapshot,) = await feed.snapshot(["doctor1"], NOW, NOW + timedelta(days=2))
    assert snapshot.intervals == ()


async def test_a_424_from_a_connected_calendar_is_source_unavailable(
    feed: CalendlyFeed, fake: FakeCalendly
) -> None:
    fake.failing = 424
    with pytest.raises(SourceUnavailable, match="424"):
        await feed.live("doctor1", NOW, NOW + timedelta(hours=2))


async def test_a_refused_token_is_reported_as_such(
    fake: FakeCalendly, http: httpx.AsyncClient, ticker: Ticker
) -> None:
    fake.token = "another"
    feed = feed_on(fake, http, ticker)
    with pytest.raises(CalendlyRefused, match="401"):
        await feed.snapshot(["doctor1"], NOW, NOW + timedelta(days=1))
    assert fake.requests == 1  # not retried


async def test_the_live_check_is_one_quick_call_without_retries(
    fake: FakeCalendly, http: httpx.AsyncClient, ticker: Ticker
) -> None:
    feed = feed_on(fake, http, ticker, live_timeout=0.2)
    visit = NOW + timedelta(hours=3)
    fake.add_booking(DOCTOR1, visit, visit + timedelta(minutes=20), after_min=5)

    found = await feed.live("doctor1", NOW, NOW + timedelta(hours=8))
    assert [(i.start, i.end) for i in found] == [(visit, visit + timedelta(minutes=25))]
    assert await feed.live("gaps_coach", NOW, NOW + timedelta(hours=8)) == ()

    fake.latency = 1.0
    with pytest.raises(SourceUnavailable, match="timed out"):
        await feed.live("doctor1", NOW, NOW + timedelta(hours=8))
    fake.latency = 0.0
    fake.answers = [503]
    with pytest.raises(SourceUnavailable, match="503"):
        await feed.live("doctor1", NOW, NOW + timedelta(hours=8))


async def test_the_breaker_opens_after_outages_and_calendly_is_not_called(
    fake: FakeCalendly, http: httpx.AsyncClient, ticker: Ticker
) -> None:
    feed = feed_on(fake, http, ticker, threshold=3, pacing=Pacing(outage_retries=0))
    fake.failing = 502
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            await feed.live("doctor1", NOW, NOW + timedelta(hours=2))
    called = fake.requests
    fake.failing = None

    with pytest.raises(CalendlyCircuitOpen):
        await feed.snapshot(["doctor1", "nurse"], NOW, NOW + timedelta(days=60))
    assert fake.requests == called
    assert issubclass(CalendlyCircuitOpen, SourceUnavailable)


async def test_parallel_calls_stay_within_the_budget_and_the_in_flight_cap(
    fake: FakeCalendly, http: httpx.AsyncClient, ticker: Ticker
) -> None:
    """A burst of 50, then 500 a minute: 72 calls (8 practitioners × 60 days) spend the
    burst and wait ~2.6 s of (virtual) time for the other 22 tokens."""
    users = {f"p{n}": user_uri(f"p{n}") for n in range(8)}
    client = CalendlyClient(
        http,
        TOKEN,
        breaker=calendly_breaker(),
        gate=RateGate(monotonic=ticker.monotonic, sleep=ticker.sleep, in_flight=10),
        base_url=fake.url,
    )
    feed = CalendlyFeed(client, users, FixedClock(NOW))
    snapshots = await feed.snapshot(list(users), NOW, NOW + timedelta(days=60))
    assert len(snapshots) == 8
    assert len(fake.busy_calls) == 72
    assert fake.rate_limited == 0
    assert 22 * 60 / 500 - 0.01 <= sum(ticker.waited) <= 22 * 60 / 500 + 0.5
