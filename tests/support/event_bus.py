"""Helpers for the event bus tests: a recording subscriber whose effect is a database row,
booking-like events, a look into the delivery ledger, the `db` fixture (a database with the
effect log) and a stream of its own on the test Redis. (No tests here.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import redis
from redis.asyncio import Redis
from sqlalchemy import select, text, update

from clinicflow.infra.bus import Envelope
from clinicflow.infra.db import Database
from clinicflow.infra.events import EventBus, SubscriberDeps, build_bus
from clinicflow.infra.events.ledger import deliveries
from clinicflow.infra.inbox import Inbox
from clinicflow.infra.outbox import Event, outbox
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock
from support.redis_probe import REDIS_URL, require_redis

BOOKING_TYPES = frozenset({"booking.created", "booking.rescheduled"})


class Boom(RuntimeError):
    """A handler failure whose message must never reach the ledger (it could carry PHI)."""


class Recorder:
    """Writes one effect_log row per event it handles, inside the inbox transaction."""

    def __init__(self, name: str, inbox: Inbox, types: frozenset[str] = BOOKING_TYPES) -> None:
        self.name = name
        self.types = types
        self.inbox = inbox
        self.calls: list[str] = []
        self.failing: set[str] = set()
        self.seen = asyncio.Event()

    async def handle(self, event: Envelope) -> None:
        self.calls.append(event.event_id)
        self.seen.set()
        async with self.inbox.handling(self.name, event, UnitOfWork(self.inbox.db)) as uow:
            if uow is None:
                return
            await uow.connection.execute(
                text("INSERT INTO effect_log (subscriber, event_id) VALUES (:s, :e)"),
                {"s": self.name, "e": event.event_id},
            )
            if event.event_id in self.failing:
                raise Boom("Jane Doe's card was declined")  # rolls the effect back


# The subscriber `clinicflow events …` loads in the CLI tests (CLINICFLOW_EXTRA_SUBSCRIBERS).
CLI_FAILING: set[str] = set()


def cli_recorder(deps: SubscriberDeps) -> Recorder:
    recorder = Recorder("cli-recorder", deps.inbox)
    recorder.failing = CLI_FAILING
    return recorder


@pytest.fixture
async def db(
    settings: Settings, open_database: Callable[[str], Database]
) -> AsyncIterator[Database]:
    """The test's database, with the effect log the recorders write to."""
    database = open_database(settings.database_url)
    await create_effect_log(database)
    yield database
    await database.dispose()


@contextmanager
def redis_stream(name: str, skipping: str) -> Iterator[str]:
    """A stream name of its own on the test Redis (`test:<random>:<name>`), deleted afterwards.
    Without a reachable Redis the test is skipped (`skipping` says what), and fails in CI."""
    require_redis(skipping)
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    stream = f"test:{uuid.uuid4().hex[:12]}:{name}"
    try:
        yield stream
    finally:
        client.delete(stream)
        client.close()


def on_redis(settings: Settings, stream: str) -> Settings:
    return settings.model_copy(
        update={"event_transport": "redis", "redis_url": REDIS_URL, "event_stream": stream}
    )


@pytest.fixture(params=["in-process", "redis"])
def bus_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """Each event transport in turn: the in-process bus, then Redis Streams."""
    if request.param == "in-process":
        yield settings
        return
    with redis_stream("events", "Redis tests") as stream:
        yield on_redis(settings, stream)


async def redis_pending(bus: EventBus, group: str) -> int:
    """Entries a Redis consumer group has read and not acknowledged."""
    client: Redis = bus.transport.client  # type: ignore[attr-defined]
    summary = await client.xpending(bus.transport.stream, group)  # type: ignore[attr-defined]
    return int(summary["pending"])


async def create_effect_log(db: Database) -> None:
    async with UnitOfWork(db) as uow:
        await uow.connection.execute(
            text("CREATE TABLE effect_log (subscriber VARCHAR(64), event_id VARCHAR(36))")
        )
        await uow.commit()


async def effects(db: Database, subscriber: str) -> list[str]:
    async with db.read() as conn:
        rows = await conn.execute(
            text("SELECT event_id FROM effect_log WHERE subscriber = :s"), {"s": subscriber}
        )
        return [row.event_id for row in rows]


def booking_event(clock: Clock, booking_id: str, type_: str = "booking.created") -> Event:
    return Event(
        type=type_,
        aggregate_type="booking",
        aggregate_id=booking_id,
        occurred_at=clock.now(),
        payload={"booking_id": booking_id, "service": "massage"},
    )


async def record_events(db: Database, *events: Event) -> None:
    async with UnitOfWork(db) as uow:
        uow.publish(*events)
        await uow.commit()


async def unpublish(db: Database, event_id: str) -> None:
    async with UnitOfWork(db) as uow:
        await uow.connection.execute(
            update(outbox).where(outbox.c.event_id == event_id).values(published_at=None)
        )
        await uow.commit()


@dataclass(frozen=True)
class Delivery:
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


async def delivery(db: Database, subscriber: str, event_id: str) -> Delivery:
    query = select(deliveries).where(
        deliveries.c.subscriber == subscriber, deliveries.c.event_id == event_id
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).one()
    return Delivery(row.status, row.attempts, row.next_attempt_at, row.last_error)


def make_bus(
    settings: Settings, db: Database, clock: Clock, subs: Sequence[Any], **changes: Any
) -> EventBus:
    return build_bus(settings.model_copy(update=changes), db, clock, subs)


def projector_bus(
    settings: Settings, db: Database, clock: Clock, **changes: Any
) -> tuple[Recorder, EventBus]:
    """A bus over `settings` (with `changes`) whose one subscriber records as "projector"."""
    recorder = Recorder("projector", Inbox(db, clock))
    return recorder, make_bus(settings, db, clock, [recorder], **changes)


def batch_projector_bus(
    settings: Settings, db: Database, clock: Clock
) -> tuple[BatchRecorder, EventBus]:
    """`projector_bus` whose subscriber takes a sweep's page of events at once."""
    recorder = BatchRecorder("projector", Inbox(db, clock))
    return recorder, make_bus(settings, db, clock, [recorder])


async def projector_with_event(
    settings: Settings, db: Database, clock: Clock, **changes: Any
) -> tuple[Recorder, EventBus, Event]:
    """`projector_bus`, and a booking.created event for it recorded in the outbox."""
    recorder, bus = projector_bus(settings, db, clock, **changes)
    event = booking_event(clock, "b-1")
    await record_events(db, event)
    return recorder, bus, event


class BatchRecorder(Recorder):
    """A `Recorder` that also takes a page of events at once (`BatchSubscriber`), all its
    effect rows in one transaction; a failing event among them rolls the batch back."""

    def __init__(self, name: str, inbox: Inbox, types: frozenset[str] = BOOKING_TYPES) -> None:
        super().__init__(name, inbox, types)
        self.batches: list[list[str]] = []

    async def handle_batch(self, events: Sequence[Envelope]) -> None:
        ids = [event.event_id for event in events]
        self.batches.append(ids)
        async with UnitOfWork(self.inbox.db) as uow:
            await uow.connection.execute(
                text("INSERT INTO effect_log (subscriber, event_id) VALUES (:s, :e)"),
                [{"s": self.name, "e": event_id} for event_id in ids],
            )
            if self.failing.intersection(ids):
                raise Boom("Jane Doe's card was declined")
            await uow.commit()
