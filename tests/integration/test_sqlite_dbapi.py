"""SQLite's statements on the event loop (infra/sqlite_dbapi.py): a lock held elsewhere is
waited for without stopping the loop, and answers are what SQLite gives.

The other process here is a real one (a Python holding BEGIN IMMEDIATE on the same file), as
a `clinicflow users add` or a second server would; two Databases in one process stand for
two engines of one server writing at once."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from clinicflow.infra.db import Database
from clinicflow.infra.sqlite_dbapi import loop_dbapi

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO note (body) VALUES ('from the other process')")
print("held", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "clinic.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    return path


@contextmanager
def lock_held_by_another_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    """A process holding `path`'s write lock until its stdin gets a line."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        if holder.poll() is None and holder.stdin is not None:
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.wait(timeout=30)


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()


@asynccontextmanager
async def ticking() -> AsyncIterator[list[float]]:
    """The loop's heartbeat: an entry every 5 ms for as long as the loop runs other tasks."""
    beats: list[float] = []

    async def beat() -> None:
        while True:
            beats.append(time.monotonic())
            await asyncio.sleep(0.005)

    task = asyncio.create_task(beat())
    try:
        yield beats
    finally:
        task.cancel()


def bodies(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [body for (body,) in conn.execute("SELECT body FROM note ORDER BY id")]


async def test_a_write_waits_for_another_process_lock_while_the_loop_goes_on(
    database: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{database}")
    try:
        with lock_held_by_another_process(database) as holder:

            async def write() -> None:
                async with db.write_transaction() as conn:
                    await conn.execute(text("INSERT INTO note (body) VALUES ('ours')"))
                    await conn.commit()

            async with ticking() as beats:
                writing = asyncio.create_task(write())
                await asyncio.sleep(0.3)
                assert not writing.done()  # refused by the lock, waiting
                waited = len(beats)
                release(holder)
                await asyncio.wait_for(writing, timeout=15)
        # The loop ran other work all the while the write waited (it blocked nothing).
        assert waited >= 10
        assert bodies(database) == ["from the other process", "ours"]
    finally:
        await db.dispose()


async def test_a_lock_held_past_the_timeout_fails_the_write_and_not_the_loop(
    database: Path,
) -> None:
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{database}", module=loop_dbapi(), connect_args={"timeout": 0.3}
    )
    try:
        with lock_held_by_another_process(database):
            async with ticking() as beats:
                with pytest.raises(OperationalError, match="database is locked"):
                    async with engine.begin() as conn:
                        await conn.execute(text("INSERT INTO note (body) VALUES ('ours')"))
                waited = len(beats)
        assert waited >= 10
        assert bodies(database) == ["from the other process"]
    finally:
        await engine.dispose()


async def test_two_engines_in_one_process_write_in_turn_without_a_deadlock(
    database: Path,
) -> None:
    """Each Database has its own writer lock, so the second's BEGIN IMMEDIATE meets the
    first's transaction, held across an await: waiting for it on the loop would never end."""
    first, second = (Database(f"sqlite+aiosqlite:///{database}") for _ in range(2))
    first_began = asyncio.Event()

    async def slow_writer() -> None:
        async with first.write_transaction() as conn:
            await conn.execute(text("INSERT INTO note (body) VALUES ('first')"))
            first_began.set()
            await asyncio.sleep(0.2)  # holding the lock across an await, as a use case may
            await conn.commit()

    async def next_writer() -> None:
        await first_began.wait()
        async with second.write_transaction() as conn:
            await conn.execute(text("INSERT INTO note (body) VALUES ('second')"))
            await conn.commit()

    try:
        await asyncio.wait_for(asyncio.gather(slow_writer(), next_writer()), timeout=15)
        assert bodies(database) == ["first", "second"]
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_stale_snapshot_fails_at_once_instead_of_waiting(database: Path) -> None:
    """BUSY_SNAPSHOT: a read transaction that saw the table before another connection's
    commit cannot write from it; waiting cannot change that, so it is not waited out."""
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{database}", module=loop_dbapi(), connect_args={"timeout": 10}
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text("BEGIN"))  # deferred: a read snapshot, no write lock
            assert (await conn.execute(text("SELECT count(*) FROM note"))).scalar() == 0
            with sqlite3.connect(database) as other:
                other.execute("INSERT INTO note (body) VALUES ('meanwhile')")
            began = time.monotonic()
            with pytest.raises(OperationalError) as refused:
                await conn.execute(text("INSERT INTO note (body) VALUES ('stale')"))
            assert refused.value.orig is not None
            assert refused.value.orig.sqlite_errorcode == sqlite3.SQLITE_BUSY_SNAPSHOT  # type: ignore[attr-defined]
            assert time.monotonic() - began < 10  # not the timeout waited out
            await conn.rollback()
        assert bodies(database) == ["meanwhile"]
    finally:
        await engine.dispose()


async def test_answers_are_sqlites_own(database: Path) -> None:
    """Rows, row counts and last row ids as SQLite gives them, for each kind of statement."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}", module=loop_dbapi())
    try:
        async with engine.begin() as conn:
            inserted = await conn.execute(text("INSERT INTO note (body) VALUES ('a')"))
            assert inserted.lastrowid == 1
            assert inserted.rowcount == 1
            many = await conn.execute(
                text("INSERT INTO note (body) VALUES (:body)"), [{"body": "b"}, {"body": "c"}]
            )
            assert many.rowcount == 2
            returned = await conn.execute(
                text("UPDATE note SET body = upper(body) WHERE id > 1 RETURNING id, body")
            )
            assert sorted(returned.all()) == [(2, "B"), (3, "C")]
            none = await conn.execute(text("SELECT id FROM note WHERE body = 'z'"))
            assert none.all() == []
            assert list(none.keys()) == ["id"]
            updated = await conn.execute(text("UPDATE note SET body = 'd' WHERE id = 1"))
            assert updated.rowcount == 1
            partial = await conn.execute(text("SELECT body FROM note ORDER BY id"))
            assert partial.fetchmany(2) == [("d",), ("B",)]
            assert partial.fetchall() == [("C",)]
        assert bodies(database) == ["d", "B", "C"]
    finally:
        await engine.dispose()
