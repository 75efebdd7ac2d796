"""Cached availability at the edge (gateway/cached_reads.py): a repeated anonymous question is
answered before FastAPI routes anything, with the full route's bytes and headers, under its
rate limit, and never from before a booking that has returned (read-your-writes). Redis
lookups asked together go out together (infra/cache.py)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from clinicflow.bootstrap import build
from clinicflow.gateway.app import create_app
from clinicflow.infra.cache import RedisCache
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import DOCTOR1_AVAILABILITY, TIGHT, WED_10, assert_problem, booking
from support.app import staff_session
from support.metrics import METRICS_PORT, cache_counts, scrape
from support.redis_probe import REDIS_URL, require_redis


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_port": METRICS_PORT})  # scraped below


NAMES = ["calendar:doctor1", "calendar:doctor2"]


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def prefix() -> str:
    # Each test its own prefix: the fixed test clock would otherwise meet old entries.
    return f"test:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def shared(redis_url: str, prefix: str) -> dict[str, Any]:
    return {"cache_storage": "redis", "redis_url": redis_url, "cache_prefix": prefix}


@asynccontextmanager
async def caller(app: FastAPI, ip: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
        yield http


async def slots(http: httpx.AsyncClient) -> list[str]:
    resp = await http.get(DOCTOR1_AVAILABILITY)
    assert resp.status_code == 200, resp.text
    return starts(resp)


def starts(resp: httpx.Response) -> list[str]:
    return [s["start"] for s in resp.json()["slots"]]


async def counts(http: httpx.AsyncClient) -> dict[str, float]:
    return {"hit": 0, "miss": 0} | cache_counts((await scrape(http)).text)


def drop_route_entries(prefix: str) -> int:
    """Deletes the full route's cached answers, keeping the edge's (`availability:q:…`): from
    then on a hit can only be the edge's, since a pass through the full route would count a
    miss."""
    with redis.Redis.from_url(REDIS_URL) as r:
        keys = list(r.scan_iter(f"{prefix}:v:availability:[0-9a-f]*"))
        return int(r.delete(*keys)) if keys else 0


def edge_entries(prefix: str) -> int:
    with redis.Redis.from_url(REDIS_URL) as r:
        return len(list(r.scan_iter(f"{prefix}:v:availability:q:*")))


def requests_counted(metrics_text: str, route: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
        if s.name == "http_requests_total" and s.labels["route"] == route
    )


async def test_a_repeated_anonymous_question_is_answered_at_the_edge(
    settings: Settings, clock: FixedClock, shared: dict[str, Any], prefix: str
) -> None:
    container = build(settings.model_copy(update=shared), clock=clock)
    try:
        async with caller(create_app(container=container)) as http:
            full = await http.get(DOCTOR1_AVAILABILITY)  # first sight: the full route answers
            await http.get(
                DOCTOR1_AVAILABILITY
            )  # known: the edge misses and keeps the route's answer
            dropped = drop_route_entries(prefix)
            before = await counts(http)
            edge = [
                await http.get(DOCTOR1_AVAILABILITY, headers={"X-Request-ID": f"edge-{n}"})
                for n in range(3)
            ]
            after = await counts(http)
            metrics = (await scrape(http)).text
    finally:
        await container.aclose()
    assert dropped >= 1
    assert edge_entries(prefix) == 1
    assert after == {"hit": before["hit"] + 3, "miss": before["miss"]}  # all three: the edge
    assert full.status_code == 200, full.text
    for n, resp in enumerate(edge):
        assert resp.status_code == 200, resp.text
        assert resp.content == full.content  # byte for byte
        assert resp.headers["content-type"] == full.headers["content-type"] == "application/json"
        assert resp.headers["content-length"] == str(len(full.content))
        assert set(resp.headers) == set(full.headers)  # every wrapper still ran
        assert resp.headers["x-request-id"] == f"edge-{n}"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["ratelimit-limit"] == "300"
    assert [r.headers["ratelimit-remaining"] for r in edge] == ["297", "296", "295"]
    assert WED_10 in starts(edge[0])
    assert requests_counted(metrics, "/v1/availability") == 5
    assert requests_counted(metrics, "unmatched") == 0


async def test_a_booking_through_one_replica_reaches_the_others_edge(
    settings: Settings, clock: FixedClock, shared: dict[str, Any], prefix: str
) -> None:
    one = build(settings.model_copy(update=shared), clock=clock)
    two = build(settings.model_copy(update=shared), clock=clock)
    try:
        desk = await staff_session(one, "desk", "front_desk")
        async with caller(create_app(container=one)) as a, caller(create_app(container=two)) as b:
            await slots(b)
            await slots(b)  # B's edge knows the question and holds its answer
            drop_route_entries(prefix)
            before = await counts(b)
            warm = await slots(b)
            at_edge = await counts(b)
            made = await a.post("/v1/bookings", json=booking())
            assert made.status_code == 201, made.text
            booked = await slots(b)  # B's very next answer
            cancel = await a.post(f"/v1/bookings/{made.json()['id']}/cancel", headers=desk)
            assert cancel.status_code == 200, cancel.text
            freed = await slots(b)
            again = await slots(b)
    finally:
        await one.aclose()
        await two.aclose()
    assert at_edge == {"hit": before["hit"] + 1, "miss": before["miss"]}  # the edge answered
    assert WED_10 in warm
    assert WED_10 not in booked
    assert WED_10 in freed
    assert again == freed


async def test_the_edge_counts_each_request_once_against_the_rate_limit(
    settings: Settings, clock: FixedClock, shared: dict[str, Any], prefix: str
) -> None:
    built = build(settings.model_copy(update={**shared, "rate_limits": TIGHT}), clock=clock)
    try:
        app = create_app(container=built)
        async with caller(app, "10.0.0.1") as warmer, caller(app, "10.0.0.2") as http:
            warming = [await warmer.get(DOCTOR1_AVAILABILITY) for _ in range(2)]
            drop_route_entries(prefix)
            before = await counts(http)
            first = await http.get(DOCTOR1_AVAILABILITY)  # the edge
            made = await warmer.post("/v1/bookings", json=booking())
            second = await http.get(DOCTOR1_AVAILABILITY)  # the edge misses: the full route answers
            rest = [
                await http.get(DOCTOR1_AVAILABILITY) for _ in range(2)
            ]  # the edge, then refused
            after = await counts(http)
    finally:
        await built.aclose()
    seen = [first, second, *rest]
    assert made.status_code == 201, made.text
    # The first sight (full route) and a known question (edge, then the route) count once each.
    assert [r.headers["ratelimit-remaining"] for r in warming] == ["2", "1"]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in seen] == ["2", "1", "0", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in seen)
    assert all("retry-after" not in r.headers for r in seen[:3])
    assert after == {"hit": before["hit"] + 2, "miss": before["miss"] + 1}
    assert WED_10 in starts(first)
    assert WED_10 not in starts(second)
    assert rest[0].content == second.content
    refused = assert_problem(seen[-1], 429, "rate_limited")
    assert "3 read requests per 60 seconds" in refused["detail"]
    assert 1 <= int(seen[-1].headers["retry-after"]) <= 60


async def test_anonymous_callers_have_a_budget_per_address(
    settings: Settings, clock: FixedClock
) -> None:
    built = build(settings.model_copy(update={"rate_limits": TIGHT}), clock=clock)
    try:
        app = create_app(container=built)
        async with caller(app, "10.0.0.1") as one, caller(app, "10.0.0.2") as two:
            spent = [(await one.get(DOCTOR1_AVAILABILITY)).status_code for _ in range(4)]
            other = await two.get(DOCTOR1_AVAILABILITY)
    finally:
        await built.aclose()
    assert spent == [200, 200, 200, 429]
    assert other.status_code == 200
    assert other.headers["ratelimit-remaining"] == "2"


async def test_a_bad_credential_on_a_cached_question_is_still_refused(
    client: httpx.AsyncClient,
) -> None:
    assert [(await client.get(DOCTOR1_AVAILABILITY)).status_code for _ in range(3)] == [
        200,
        200,
        200,
    ]
    for headers in ({"Authorization": "Bearer junk"}, {"X-API-Key": "cf_junk"}):
        refused = await client.get(DOCTOR1_AVAILABILITY, headers=headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")


# Request coalescing in RedisCache, against a real Redis.


@asynccontextmanager
async def commands_seen(prefix: str) -> AsyncIterator[list[str]]:
    """The commands Redis runs for clients that name `prefix` (MONITOR), until the block ends."""
    monitored, marker = aioredis.Redis.from_url(REDIS_URL), aioredis.Redis.from_url(REDIS_URL)
    done = f"{prefix}:seen-all"
    seen: list[str] = []
    try:
        async with monitored.monitor() as monitor:

            async def collect() -> None:
                while done not in (command := (await monitor.next_command())["command"]):
                    if prefix in command:
                        seen.append(command)

            collecting = asyncio.create_task(collect())
            yield seen
            await marker.echo(done)
            await asyncio.wait_for(collecting, 10)
    finally:
        await monitored.aclose()
        await marker.aclose()


async def test_lookups_asked_together_share_one_pipeline(redis_url: str, prefix: str) -> None:
    cache = RedisCache(redis_url, prefix)
    try:
        _, key = await cache.lookup("same", NAMES)  # loads the script
        await cache.set(key, b"the answer", 60)
        async with commands_seen(prefix) as seen:
            answers = await asyncio.gather(
                *(cache.lookup("same", NAMES) for _ in range(50)), cache.lookup("other", NAMES)
            )
    finally:
        await cache.aclose()
    evalshas = [c for c in seen if c.startswith("EVALSHA")]
    assert len(evalshas) == 2  # 50 identical lookups: one EVALSHA; the other question its own
    assert sum(f"{prefix}:v:same" in c for c in evalshas) == 1
    assert answers[:50] == [(b"the answer", key)] * 50
    assert answers[50] == (None, f"{prefix}:v:other:0.0")


class HoldingProxy:
    """A TCP hop to Redis that can hold Redis's replies on their way back: a slow network."""

    def __init__(self) -> None:
        self.passing = asyncio.Event()
        self.passing.set()
        self.held = asyncio.Event()  # a reply arrived while replies were held
        self._relays: set[asyncio.Task[Any]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with server:
                yield f"redis://127.0.0.1:{port}/0"
        finally:
            self.passing.set()
            for writer in self._writers:
                writer.close()
            await asyncio.gather(*self._relays, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        relay = asyncio.current_task()
        if relay is not None:
            self._relays.add(relay)
        host, port = REDIS_URL.split("//")[1].split("/")[0].split(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self._writers += [writer, up_writer]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, hold: bool) -> None:
            while data := await src.read(65536):
                if hold and not self.passing.is_set():
                    self.held.set()
                    await self.passing.wait()
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(
            pump(reader, up_writer, False), pump(up_reader, writer, True), return_exceptions=True
        )


async def test_a_lookup_asked_after_a_bump_never_joins_an_older_one(
    redis_url: str, prefix: str
) -> None:
    proxy, other = HoldingProxy(), RedisCache(redis_url, prefix)  # `other`: another replica
    async with proxy.serving() as url:
        cache = RedisCache(url, prefix)
        try:
            _, key = await cache.lookup("q", NAMES)
            await cache.set(key, b"before the booking", 60)
            proxy.passing.clear()
            first = asyncio.create_task(cache.lookup("q", NAMES))
            await asyncio.wait_for(proxy.held.wait(), 10)  # Redis answered it: in flight
            await other.bump(NAMES)  # a booking committed, on another replica
            second = asyncio.create_task(cache.lookup("q", NAMES))
            await asyncio.sleep(0.05)  # `second` is asked while `first` is still in flight
            proxy.passing.set()
            found = await asyncio.wait_for(asyncio.gather(first, second), 10)
        finally:
            await cache.aclose()
            await other.aclose()
    assert found[0][0] == b"before the booking"  # asked before the bump: may see before it
    assert found[1] == (None, f"{prefix}:v:q:1.1")  # asked after: its own read, after it


async def test_an_error_reaches_every_lookup_of_its_batch() -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        cache = RedisCache(f"redis://127.0.0.1:{port}/0")
        try:
            asked = (cache.lookup(q, NAMES) for q in ("a", "a", "b"))
            failed = await asyncio.gather(*asked, return_exceptions=True)
        finally:
            await cache.aclose()
    assert all(isinstance(f, redis.ConnectionError) for f in failed), failed
