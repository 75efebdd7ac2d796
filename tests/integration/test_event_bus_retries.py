"""Failing subscribers: backoff on the injected clock, dead letters, replay, and the order
of an aggregate's events (on each transport)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicflow.cli import app
from clinicflow.infra.db import Database
from clinicflow.infra.events import RetryPolicy
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support import event_bus as support
from support.event_bus import (
    booking_event,
    create_effect_log,
    delivery,
    effects,
    make_bus,
    projector_bus,
    record_events,
    redis_pending,
)

# The outbox, relay and inbox: delivery once rests on each database's transactions.
pytestmark = pytest.mark.both_databases


async def test_a_failing_subscriber_is_retried_with_backoff_then_dead_lettered(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder, bus = projector_bus(settings, db, clock)  # 5 attempts, 2 s base, 600 s cap
    event = booking_event(clock, "b-1")
    recorder.failing.add(event.event_id)
    await record_events(db, event)
    policy = RetryPolicy()

    for attempt in range(1, 5):
        await bus.run_once()
        state = await delivery(db, "projector", event.event_id)
        assert (state.status, state.attempts, state.last_error) == ("pending", attempt, "Boom")
        ceiling = timedelta(seconds=policy.base_seconds * 2 ** (attempt - 1))
        assert clock.now() < state.next_attempt_at <= clock.now() + ceiling
        await bus.run_once()  # not yet due: nothing happens
        assert len(recorder.calls) == attempt
        clock.set(state.next_attempt_at)
    await bus.run_once()

    dead = await delivery(db, "projector", event.event_id)
    assert (dead.status, dead.attempts) == ("dead", 5)
    clock.advance(timedelta(days=1))
    await bus.run_once()
    assert len(recorder.calls) == 5
    assert await effects(db, "projector") == []  # every failed attempt rolled back
    [letter] = await bus.dead_letters()
    assert (letter.event_id, letter.type, letter.last_error) == (event.event_id, event.type, "Boom")
    await bus.aclose()


async def test_a_failing_first_event_holds_back_the_next_of_its_aggregate(
    bus_settings: Settings, db: Database, clock: FixedClock
) -> None:
    redis = bus_settings.event_transport == "redis"
    recorder, bus = projector_bus(bus_settings, db, clock)
    created = booking_event(clock, "b-1")
    moved = booking_event(clock, "b-1", "booking.rescheduled")
    other = booking_event(clock, "b-2")
    recorder.failing.add(created.event_id)
    await record_events(db, created, moved, other)

    await bus.run_once()
    assert recorder.calls == [created.event_id, other.event_id]
    if redis:  # the failed one and the one behind it
        assert await redis_pending(bus, "projector") == 2
    recorder.failing.clear()
    await bus.run_once()  # the first is not due yet: the second still waits
    assert moved.event_id not in recorder.calls

    clock.set((await delivery(db, "projector", created.event_id)).next_attempt_at)
    await bus.run_once()

    assert recorder.calls[2:] == [created.event_id, moved.event_id]
    assert await effects(db, "projector") == [other.event_id, created.event_id, moved.event_id]
    if redis:
        assert await redis_pending(bus, "projector") == 0
    await bus.aclose()


async def test_a_dead_letter_lets_the_events_behind_it_through(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    recorder, bus = projector_bus(settings, db, clock, event_max_attempts=1)
    created = booking_event(clock, "b-1")
    moved = booking_event(clock, "b-1", "booking.rescheduled")
    recorder.failing.add(created.event_id)
    await record_events(db, created, moved)

    await bus.run_once()

    assert (await delivery(db, "projector", created.event_id)).status == "dead"
    assert await effects(db, "projector") == [moved.event_id]
    await bus.aclose()


def test_replay_delivers_a_dead_letter_once_the_handler_is_fixed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    for name, value in {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "EXTRA_SUBSCRIBERS": "support.event_bus:cli_recorder",
        "EVENT_MAX_ATTEMPTS": "2",
    }.items():
        monkeypatch.setenv(f"CLINICFLOW_{name}", value)
    event = booking_event(clock, "b-1")
    support.CLI_FAILING.add(event.event_id)

    async def dead_letter() -> None:
        db = Database(database_url)
        await create_effect_log(db)
        await record_events(db, event)
        bus = make_bus(Settings(), db, clock, [])
        for _ in range(2):
            await bus.run_once()
            clock.advance(timedelta(hours=1))
        await bus.aclose()
        await db.dispose()

    async def effect_rows() -> list[str]:
        db = Database(database_url)
        try:
            return await effects(db, "cli-recorder")
        finally:
            await db.dispose()

    try:
        asyncio.run(dead_letter())
        cli = CliRunner()
        listed = cli.invoke(app, ["events", "dead-letters"])
        assert listed.exit_code == 0, listed.output
        assert f"cli-recorder\t{event.event_id}\tbooking.created\t2\tBoom" in listed.output

        support.CLI_FAILING.clear()
        replayed = cli.invoke(app, ["events", "dead-letters", "--replay", event.event_id])
        assert replayed.exit_code == 0, replayed.output
        assert asyncio.run(effect_rows()) == [event.event_id]
        assert "0 dead letter(s)" in cli.invoke(app, ["events", "dead-letters"]).output
        again = cli.invoke(app, ["events", "dead-letters", "--replay", event.event_id])
        assert again.exit_code == 1
        assert asyncio.run(effect_rows()) == [event.event_id]
    finally:
        support.CLI_FAILING.clear()
