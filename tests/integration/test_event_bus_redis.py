"""The Redis Streams transport against a real Redis on 127.0.0.1 (skipped with a message when
unreachable, required in CI), each test on its own stream."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
import redis
from redis.asyncio import Redis

from clinicflow.infra.db import Database
from clinicflow.infra.events import EventBus
from clinicflow.infra.inbox import Inbox
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.event_bus import (
    Recorder,
    booking_event,
    create_effect_log,
    delivery,
    effects,
    make_bus,
    record_events,
    unpublish,
)

# The outbox, relay and inbox: delivery once rests on each database's transactions.
pytestmark = pytest.mark.both_databases

REDIS_URL = os.environ.get("CLINICFLOW_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({exc}); Redis tests skipped")
    stream = f"test:{uuid.uuid4().hex[:12]}:events"
    yield settings.model_copy(
        update={"event_transport": "redis", "redis_url": REDIS_URL, "event_stream": stream}
    )
    client.delete(stream)
    client.close()


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    await create_effect_log(database)
    yield database
    await database.dispose()


async def _pending(bus: EventBus, group: str) -> int:
    client: Redis = bus.transport.client  # type: ignore[attr-defined]
    summary = await client.xpending(bus.transport.stream, group)  # type: ignore[attr-defined]
    return int(summary["pending"])


async def test_redis_delivers_a_booking_event_exactly_once(
    redis_settings: Settings, db: Database, clock: FixedClock
) -> None:
    projector = Recorder("projector", Inbox(db, clock))
    mailer = Recorder("mailer", Inbox(db, clock))
    bus = make_bus(redis_settings, db, clock, [projector, mailer])
    event = booking_event(clock, "b-1")
    await record_events(db, event, booking_event(clock, "b-1", "booking.cancelled"))

    done = await bus.run_once()
    await unpublish(db, event.event_id)  # published again: a duplicate entry in the stream
    again = await bus.run_once()

    assert (done.published, done.delivered, again.published) == (2, 2, 1)
    assert projector.calls == mailer.calls == [event.event_id]
    assert await effects(db, "projector") == await effects(db, "mailer") == [event.event_id]
    assert await _pending(bus, "projector") == await _pending(bus, "mailer") == 0
    await bus.aclose()


async def test_redis_holds_back_an_aggregate_behind_its_failing_event(
    redis_settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder = Recorder("projector", Inbox(db, clock))
    bus = make_bus(redis_settings, db, clock, [recorder])
    created = booking_event(clock, "b-1")
    moved = booking_event(clock, "b-1", "booking.rescheduled")
    other = booking_event(clock, "b-2")
    recorder.failing.add(created.event_id)
    await record_events(db, created, moved, other)

    await bus.run_once()
    assert recorder.calls == [created.event_id, other.event_id]
    assert await _pending(bus, "projector") == 2  # the failed one and the one behind it
    recorder.failing.clear()
    clock.set((await delivery(db, "projector", created.event_id)).next_attempt_at)
    await bus.run_once()

    assert recorder.calls[2:] == [created.event_id, moved.event_id]
    assert await effects(db, "projector") == [other.event_id, created.event_id, moved.event_id]
    assert await _pending(bus, "projector") == 0
    await bus.aclose()


async def test_an_event_held_by_a_dead_worker_is_claimed_by_the_next(
    redis_settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder = Recorder("projector", Inbox(db, clock))
    bus = make_bus(redis_settings, db, clock, [recorder])
    event = booking_event(clock, "b-1")
    await record_events(db, event)
    await bus.relay_once()
    client: Redis = bus.transport.client  # type: ignore[attr-defined]
    # A worker reads the entry, then is killed before it handles it.
    await client.xreadgroup("projector", "killed-worker", {redis_settings.event_stream: ">"})

    await bus.run_once()  # within the claim idle time (60 s): it stays with the dead one
    assert recorder.calls == []
    patient = make_bus(redis_settings, db, clock, [recorder], event_claim_idle_seconds=0.0)
    await patient.run_once()

    assert recorder.calls == [event.event_id]
    assert await effects(db, "projector") == [event.event_id]
    assert await _pending(patient, "projector") == 0
    await bus.aclose()
    await patient.aclose()


async def test_redis_dead_letters_then_replays_to_that_subscriber_only(
    redis_settings: Settings, db: Database, clock: FixedClock
) -> None:
    projector = Recorder("projector", Inbox(db, clock))
    mailer = Recorder("mailer", Inbox(db, clock))
    bus = make_bus(redis_settings, db, clock, [projector, mailer], event_max_attempts=2)
    event = booking_event(clock, "b-1")
    projector.failing.add(event.event_id)
    await record_events(db, event)
    await bus.run_once()
    clock.advance(timedelta(hours=1))
    await bus.run_once()
    assert (await delivery(db, "projector", event.event_id)).status == "dead"
    assert await _pending(bus, "projector") == 0  # acknowledged: it waits in the ledger

    projector.failing.clear()
    assert await bus.replay(event.event_id) == ["projector"]
    await bus.run_once()

    assert projector.calls == [event.event_id] * 3
    assert mailer.calls == [event.event_id]
    assert await effects(db, "projector") == [event.event_id]
    assert (await delivery(db, "projector", event.event_id)).status == "done"
    assert await bus.dead_letters() == []
    await bus.aclose()
