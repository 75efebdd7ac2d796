"""Cached availability: a repeated question is answered from the cache, and once a booking or
cancellation has returned, no answer — from this process or another replica — shows the old
state (read-your-writes)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from clinicflow.bootstrap import build
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import DOCTOR1_AVAILABILITY, WED_10, app_over, booking
from support.metrics import METRICS_PORT, cache_counts, scrape
from support.redis_probe import REDIS_URL, require_redis

# A commit on either database must drop the cached answer.
pytestmark = pytest.mark.both_databases


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_port": METRICS_PORT})  # scraped below


async def starts(http: httpx.AsyncClient) -> list[str]:
    resp = await http.get(DOCTOR1_AVAILABILITY)
    assert resp.status_code == 200, resp.text
    return [s["start"] for s in resp.json()["slots"]]


async def test_a_repeated_question_is_a_hit_and_a_booking_drops_it(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    before = await starts(client)
    assert await starts(client) == before
    assert cache_counts((await scrape(client)).text) == {"hit": 1, "miss": 1}
    assert WED_10 in before

    made = await client.post("/v1/bookings", json=booking())
    assert made.status_code == 201, made.text
    after_booking = await starts(client)
    assert WED_10 not in after_booking  # the very next read sees the booking

    cancelled = await client.post(f"/v1/bookings/{made.json()['id']}/cancel", headers=front_desk)
    assert cancelled.status_code == 200, cancelled.text
    assert WED_10 in await starts(client)  # and the cancellation
    assert cache_counts((await scrape(client)).text) == {"hit": 1, "miss": 3}


@pytest.fixture
def shared_cache(settings: Settings) -> dict[str, Any]:
    require_redis()
    # Each test its own prefix: the fixed test clock would otherwise meet old entries.
    return {
        "cache_storage": "redis",
        "redis_url": REDIS_URL,
        "cache_prefix": f"test:{uuid.uuid4().hex[:12]}",
    }


async def test_replicas_share_answers_and_see_each_others_bookings(
    settings: Settings, clock: FixedClock, shared_cache: dict[str, Any]
) -> None:
    one = build(settings.model_copy(update=shared_cache), clock=clock)
    two = build(settings.model_copy(update=shared_cache), clock=clock)
    try:
        async with app_over(one) as first, app_over(two) as second:
            seen = await starts(first)
            assert await starts(second) == seen  # answered from the shared cache
            hits = cache_counts((await scrape(second)).text)
            made = await second.post("/v1/bookings", json=booking())
            assert made.status_code == 201, made.text
            after = await starts(first)  # the other replica
    finally:
        await one.aclose()
        await two.aclose()
    assert hits == {"hit": 1}
    assert WED_10 in seen
    assert WED_10 not in after
