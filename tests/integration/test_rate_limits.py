"""Per-client rate limits at the edge: RateLimit headers within the limit, 429 problem+json
with Retry-After beyond it, budgets per client and route class, shared through Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from clinicflow.bootstrap import Container, build
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import TIGHT, app_over
from support.redis_probe import require_redis

AVAILABILITY = (
    "/v1/availability?service=alternative_medicine&visit_type=initial&duration=15"
    "&start=2026-11-25&end=2026-11-25"
)


@pytest.fixture
async def tight(settings: Settings, clock: FixedClock) -> AsyncIterator[Container]:
    built = build(settings.model_copy(update={"rate_limits": TIGHT}), clock=clock)
    yield built
    await built.aclose()


async def _key(container: Container, tier: str) -> dict[str, str]:
    _, key = await container.identity.apikeys.create("limits", "qa", ["bookings:read"], tier)
    return {"X-API-Key": key}


async def test_headers_count_down_then_the_caller_gets_429_with_retry_after(
    tight: Container,
) -> None:
    async with app_over(tight) as http:
        seen = [await http.get(AVAILABILITY) for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in seen] == ["2", "1", "0", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in seen)
    refused = seen[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert "3 read requests per 60 seconds" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "retry-after" not in seen[0].headers


async def test_each_client_and_route_class_has_its_own_budget(tight: Container) -> None:
    standard, partner = await _key(tight, "standard"), await _key(tight, "partner")
    async with app_over(tight) as http:
        first = [(await http.get(AVAILABILITY, headers=standard)).status_code for _ in range(3)]
        other = [(await http.get(AVAILABILITY, headers=partner)).status_code for _ in range(5)]
        anonymous = (await http.get(AVAILABILITY)).status_code
        write = await http.post("/v1/holds", json={}, headers=standard)
    assert first == [200, 200, 429]  # the standard tier: 2 reads a minute
    assert other == [200] * 5  # a partner key: 5, and a budget of its own
    assert anonymous == 200  # the anonymous budget (per IP) is untouched
    assert write.status_code != 429  # writes are counted apart from reads


async def test_sign_in_attempts_are_limited_per_address(tight: Container) -> None:
    body = {"username": "nobody", "password": "wrong password"}
    async with app_over(tight) as http:
        codes = [(await http.post("/v1/auth/login", json=body)).status_code for _ in range(3)]
        health = [(await http.get("/healthz")).status_code for _ in range(5)]
    assert codes == [401, 401, 429]
    assert health == [200] * 5  # probes are never limited


@pytest.fixture
def redis_url() -> str:
    return require_redis()


async def test_replicas_share_one_limit_through_redis(
    settings: Settings, clock: FixedClock, redis_url: str
) -> None:
    shared: dict[str, Any] = {
        "rate_limits": TIGHT,
        "rate_limit_storage": "redis",
        "redis_url": redis_url,
    }
    one = build(settings.model_copy(update=shared), clock=clock)
    two = build(settings.model_copy(update=shared), clock=clock)
    try:
        key = await _key(one, "standard")  # one database: the key works on both replicas
        async with app_over(one) as first, app_over(two) as second:
            codes = [
                (await first.get(AVAILABILITY, headers=key)).status_code,
                (await second.get(AVAILABILITY, headers=key)).status_code,
                (await first.get(AVAILABILITY, headers=key)).status_code,
            ]
    finally:
        await one.aclose()
        await two.aclose()
    assert codes == [200, 200, 429]
