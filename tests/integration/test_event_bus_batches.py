"""A subscriber that takes a page of events at once (the analytics recorder): the in-process
bus hands it a sweep's due events together, in outbox order, and keeps every promise it
keeps one event at a time: an aggregate's events in order, a failing one retried on its own
while the rest go through, an event handled before not handed over again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.infra.bus import BatchSubscriber
from clinicflow.infra.db import Database
from clinicflow.infra.inbox import mark_handled
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.event_bus import batch_projector_bus, booking_event, delivery, effects, record_events

pytestmark = pytest.mark.both_databases


async def test_a_sweeps_events_are_handed_over_together_in_outbox_order(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder, bus = batch_projector_bus(settings, db, clock)
    assert isinstance(recorder, BatchSubscriber)
    made = [booking_event(clock, "b-1"), booking_event(clock, "b-2")]
    made.append(booking_event(clock, "b-1", "booking.rescheduled"))
    await record_events(db, *made)

    assert (await bus.run_once()).delivered == 3
    ids = [event.event_id for event in made]
    assert recorder.batches == [ids]
    assert recorder.calls == []  # never one by one
    assert sorted(await effects(db, "projector")) == sorted(ids)
    for event_id in ids:
        assert (await delivery(db, "projector", event_id)).status == "done"
    assert (await bus.run_once()).delivered == 0
    assert recorder.batches == [ids]
    await bus.aclose()


async def test_a_failing_batch_goes_one_by_one_and_holds_back_only_its_aggregate(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder, bus = batch_projector_bus(settings, db, clock)
    created = booking_event(clock, "b-1")
    moved = booking_event(clock, "b-1", "booking.rescheduled")
    other = booking_event(clock, "b-2")
    recorder.failing.add(created.event_id)
    await record_events(db, created, moved, other)

    await bus.run_once()

    assert recorder.batches == [[created.event_id, moved.event_id, other.event_id]]
    assert recorder.calls == [created.event_id, other.event_id]  # `moved` waits behind it
    assert await effects(db, "projector") == [other.event_id]  # the batch rolled back
    failed = await delivery(db, "projector", created.event_id)
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert (await delivery(db, "projector", moved.event_id)).status == "pending"

    recorder.failing.clear()
    await bus.run_once()  # the failed one is not due yet: the one behind it still waits
    assert len(recorder.batches) == 1
    assert recorder.calls == [created.event_id, other.event_id]

    clock.set(failed.next_attempt_at)
    await bus.run_once()
    assert recorder.batches[1:] == [[created.event_id, moved.event_id]]
    assert sorted(await effects(db, "projector")) == sorted(
        [other.event_id, created.event_id, moved.event_id]
    )
    clock.advance(timedelta(days=1))
    assert (await bus.run_once()).delivered == 0
    await bus.aclose()


async def test_an_event_handled_before_is_settled_without_handing_it_over(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder, bus = batch_projector_bus(settings, db, clock)
    handled = booking_event(clock, "b-1")
    fresh = booking_event(clock, "b-1", "booking.rescheduled")
    await record_events(db, handled, fresh)
    await bus.relay_once()
    async with UnitOfWork(db) as uow:  # a worker handled it, and died before settling it
        await mark_handled(uow.connection, "projector", handled.event_id, clock)
        await uow.commit()

    assert (await bus.run_once()).delivered == 2
    assert recorder.batches == [[fresh.event_id]]
    assert (await delivery(db, "projector", handled.event_id)).status == "done"
    assert (await delivery(db, "projector", fresh.event_id)).status == "done"
    await bus.aclose()
