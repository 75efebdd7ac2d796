"""The Redis Streams transport against a real Redis on 127.0.0.1 (skipped with a message when
unreachable, required in CI), each test on its own stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from clinicflow.infra.db import Database
from clinicflow.infra.inbox import Inbox
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.event_bus import (
    Recorder,
    booking_event,
    delivery,
    effects,
    make_bus,
    on_redis,
    projector_with_event,
    record_events,
    redis_pending,
    redis_stream,
    unpublish,
)

# The outbox, relay and inbox: delivery once rests on each database's transactions.
pytestmark = pytest.mark.both_databases


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    with redis_stream("events", "Redis tests") as stream:
        yield on_redis(settings, stream)


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
    assert await redis_pending(bus, "projector") == await redis_pending(bus, "mailer") == 0
    await bus.aclose()


async def test_an_event_held_by_a_dead_worker_is_claimed_by_the_next(
    redis_settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder, bus, event = await projector_with_event(redis_settings, db, clock)
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
    assert await redis_pending(patient, "projector") == 0
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
    assert await redis_pending(bus, "projector") == 0  # acknowledged: it waits in the ledger

    projector.failing.clear()
    assert await bus.replay(event.event_id) == ["projector"]
    await bus.run_once()

    assert projector.calls == [event.event_id] * 3
    assert mailer.calls == [event.event_id]
    assert await effects(db, "projector") == [event.event_id]
    assert (await delivery(db, "projector", event.event_id)).status == "done"
    assert await bus.dead_letters() == []
    await bus.aclose()
