"""The in-process event bus over SQLite and PostgreSQL: outbox → relay → subscriber, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from clinicflow.infra.bus import Envelope
from clinicflow.infra.db import Database
from clinicflow.infra.events.dispatch import Outcome
from clinicflow.infra.inbox import Inbox
from clinicflow.infra.outbox import outbox
from clinicflow.infra.relay import published_from_row
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.event_bus import (
    Boom,
    Recorder,
    booking_event,
    delivery,
    effects,
    make_bus,
    projector_bus,
    projector_with_event,
    record_events,
    unpublish,
)

# The outbox, relay and inbox: delivery once rests on each database's transactions.
pytestmark = pytest.mark.both_databases


async def test_a_booking_event_reaches_its_subscriber_exactly_once(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder, bus = projector_bus(settings, db, clock)
    event = booking_event(clock, "b-1")
    await record_events(db, event, booking_event(clock, "b-1", "booking.cancelled"))

    first = await bus.run_once()
    again = await bus.run_once()

    assert (first.published, first.delivered) == (2, 1)  # nobody here wants cancellations
    assert (again.published, again.delivered) == (0, 0)
    assert recorder.calls == [event.event_id]
    assert await effects(db, "projector") == [event.event_id]
    assert (await delivery(db, "projector", event.event_id)).status == "done"
    assert (await bus.lag()).unpublished == 0
    await bus.aclose()


async def test_publishing_an_event_again_changes_nothing(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    _, bus, event = await projector_with_event(settings, db, clock)
    await bus.run_once()

    await unpublish(db, event.event_id)  # as if a relay died after publishing
    republished = await bus.run_once()

    assert republished.published == 1
    assert await effects(db, "projector") == [event.event_id]
    await bus.aclose()


async def test_two_deliveries_of_one_event_at_once_take_effect_once(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder, bus, event = await projector_with_event(settings, db, clock)
    async with db.read() as conn:
        row = (await conn.execute(outbox.select())).mappings().one()
    item = published_from_row(row)
    dispatcher = bus.transport._dispatcher  # type: ignore[attr-defined]

    outcomes = await asyncio.gather(*(dispatcher.deliver(recorder, item) for _ in range(3)))

    assert Outcome.DONE in outcomes
    assert await effects(db, "projector") == [event.event_id]
    assert await Inbox(db, clock).seen("projector", event.event_id)
    await bus.aclose()


async def test_the_inbox_helper_yields_nothing_for_a_handled_event(
    db: Database, clock: FixedClock
) -> None:
    inbox = Inbox(db, clock)
    envelope = Envelope("e-1", "booking.created", 1, clock.now(), "booking", "b-1")

    uow = UnitOfWork(db)
    async with inbox.handling("projector", envelope, uow) as first:
        assert first is uow  # the subscriber's own unit of work, open
        assert uow.connection is not None
    assert await inbox.seen("projector", "e-1")  # committed as the block ended
    async with inbox.handling("projector", envelope, UnitOfWork(db)) as second:
        assert second is None
    async with inbox.handling("another", envelope, UnitOfWork(db)) as other:
        assert other is not None

    async def failing() -> None:
        async with inbox.handling("failing", envelope, UnitOfWork(db)) as uow:
            assert uow is not None
            raise Boom("the handler failed")

    with pytest.raises(Boom):
        await failing()
    assert not await inbox.seen("failing", "e-1")  # rolled back with it: tried again later


async def test_lag_counts_unpublished_events_and_the_age_of_the_oldest(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    bus = make_bus(settings, db, clock, [])
    assert (await bus.lag()).unpublished == 0
    await record_events(db, booking_event(clock, "b-1"))
    clock.advance(timedelta(seconds=30))
    await record_events(db, booking_event(clock, "b-2"))

    lag = await bus.lag()

    assert (lag.unpublished, lag.oldest_age) == (2, timedelta(seconds=30))
    await bus.aclose()


async def test_the_serving_bus_delivers_right_after_the_commit(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    # A poll interval of an hour: only the commit of the outbox row can wake the loop.
    recorder, bus = projector_bus(settings, db, clock, event_poll_seconds=3600.0)
    await bus.start()
    try:
        event = booking_event(clock, "b-1")
        await record_events(db, event)
        await asyncio.wait_for(recorder.seen.wait(), timeout=20)
    finally:
        await bus.aclose()
    assert await effects(db, "projector") == [event.event_id]


async def test_the_traceparent_travels_with_the_event(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    seen: list[str | None] = []

    class Tracer(Recorder):
        async def handle(self, event: Envelope) -> None:
            seen.append(event.traceparent)

    bus = make_bus(settings, db, clock, [Tracer("tracer", Inbox(db, clock))])
    event = booking_event(clock, "b-1")
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await record_events(db, event)
    async with UnitOfWork(db) as uow:
        conn = uow.connection
        await conn.execute(update(outbox).values(traceparent=parent))
        await uow.commit()

    await bus.run_once()

    assert seen == [parent]
    await bus.aclose()
