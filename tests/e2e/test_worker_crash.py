"""A `clinicflow worker` killed (SIGKILL) in the middle of handling an event: the next worker
claims the event from the dead one's pending entries and the effect happens exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from clinicflow.infra.db import Database
from clinicflow.infra.outbox import Event
from support import forked_cli
from support.db import written
from support.event_bus import REDIS_URL, redis_stream
from support.migrated import migrated
from support.processes import start_worker, wait_until, worker_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stream() -> Iterator[str]:
    with redis_stream("events", "worker crash test") as name:
        yield name


async def _prepare(url: str, event: Event) -> None:
    await migrated(url)
    db = Database(url)
    async with written(db) as uow:
        conn = uow.connection
        await conn.exec_driver_sql("CREATE TABLE crash_effect (event_id VARCHAR(36), pid INT)")
        uow.publish(event)
    await db.dispose()


@pytest.mark.xdist_group("serial")  # one fork server a run (support/scheduling.py)
@pytest.mark.slow
def test_a_worker_killed_mid_event_leaves_it_to_the_next_exactly_once(
    tmp_path: Path, stream: str
) -> None:
    database = tmp_path / "clinic.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    at = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    event = Event("booking.created", "booking", "b-1", at, {"booking_id": "b-1"})
    asyncio.run(_prepare(url, event))
    attempts = tmp_path / "attempts.log"
    env = worker_env(url, tmp_path, stream) | {
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "tests" / "e2e"), os.environ.get("PYTHONPATH", "")]
        ),
        "CLINICFLOW_EXTRA_SUBSCRIBERS": "crash_subscriber:make",
        "CRASH_ATTEMPTS_LOG": str(attempts),
    }

    def start(name: str, **extra: str) -> forked_cli.Command:
        return start_worker(tmp_path, name, env | extra)

    def rows(sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(database, timeout=15) as conn:
            return conn.execute(sql).fetchall()

    first = start("first", CRASH_HOLD="1")
    try:
        wait_until(attempts.exists, "the first worker began handling the event", first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
    assert rows("SELECT event_id FROM crash_effect") == []  # rolled back with the process

    second = start("second")
    try:
        done = "SELECT status FROM infra_delivery WHERE subscriber = 'crash-test'"
        wait_until(lambda: rows(done) == [("done",)], "the second worker handled it", second)
    finally:
        second.send_signal(signal.SIGTERM)
        exit_code = second.wait(timeout=30)

    assert exit_code == 0, (tmp_path / "second.log").read_text()
    assert "worker stopped" in (tmp_path / "second.log").read_text()
    assert rows("SELECT event_id, pid FROM crash_effect") == [(event.event_id, second.pid)]
    inbox = "SELECT subscriber, event_id FROM infra_inbox WHERE subscriber = 'crash-test'"
    assert rows(inbox) == [("crash-test", event.event_id)]
    lines = attempts.read_text().splitlines()
    # Each on uvloop, as `serve` runs (cli_events.run_worker).
    assert lines == [f"{p} {event.event_id} uvloop" for p in (first.pid, second.pid)]
    pending = redis.Redis.from_url(REDIS_URL).xpending(stream, "crash-test")
    assert pending["pending"] == 0
