"""SQLite's DB-API for the async engine: each statement runs on the event loop's own thread.

SQLAlchemy's aiosqlite adapter sends every statement to a thread of aiosqlite's own, four
times over (make the cursor, execute, fetch, close), and each trip wakes that thread and then
the event loop. On this project's 2-core machine a one-row SELECT took 350 us of CPU that way,
against 46 us here and 25 us through SQLAlchemy's synchronous pysqlite engine
(`benchmarks/README.md`, "Seventh pass"). SQLite is a library, not a server: a statement on
the clinic's database takes microseconds, so the trips cost more than the work they carry.

Waiting for a lock is the one thing that must not happen on the loop. The connection's own
busy timeout is 0, so a statement another connection's lock refuses fails at once with
SQLITE_BUSY; it is tried again after an asyncio sleep (SQLite's own busy handler's steps, 1
ms up to 100 ms) until the engine's `timeout` has passed, then raised as before ("database is
locked"). A refused statement has done nothing (SQLite undoes a failed statement whole, and
a transaction it was part of stays open), so trying it again is safe. BUSY_SNAPSHOT (a read
snapshot too old to write from) is raised at once, as SQLite's busy handler would: waiting
cannot cure it.

What this trades: a statement's own work runs on the loop, so a slow statement (a report over
a year of bookings, a checkpoint's fsync every 1,000 pages) holds every other request for its
duration, where aiosqlite's thread let them go on. The clinic's largest statements take
milliseconds. Opening and closing a connection still go through aiosqlite (once per pooled
connection), and so do server-side cursors (`stream_results`), which nothing here uses.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection, AsyncIODBAPIConnection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

T = TypeVar("T")

# SQLite's busy handler's waits (sqliteDefaultBusyCallback), then its last step over again.
_STEPS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.025, 0.025, 0.05, 0.05, 0.1)
# Refusals worth waiting out: another connection holds the lock, or is recovering the WAL.
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY}
_DEFAULT_TIMEOUT = 5.0  # sqlite3.connect's own default


async def _on_loop(wait_up_to: float, work: Callable[[], T]) -> T:
    """`work()` here and now; again after a pause each time a lock refuses it, until
    `wait_up_to` seconds have passed."""
    deadline = time.monotonic() + wait_up_to
    step = 0
    while True:
        try:
            return work()
        except sqlite3.OperationalError as error:
            left = deadline - time.monotonic()
            if error.sqlite_errorcode not in _BUSY or left <= 0:
                raise
        await asyncio.sleep(min(_STEPS[min(step, len(_STEPS) - 1)], left))
        step += 1


Rows = list[Any]
Description = tuple[tuple[Any, ...], ...] | None


def _execute(
    conn: sqlite3.Connection, operation: str, parameters: Sequence[Any] | None
) -> tuple[Description, Rows, int, int | None]:
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _execute_many(
    conn: sqlite3.Connection, operation: str, parameters: Sequence[Sequence[Any]]
) -> tuple[int, int | None]:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class LoopCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs, and whose rows are fetched, in one call on the loop."""

    # Plain attributes, set by each statement, in place of the base class's properties (which
    # read aiosqlite's cursor).
    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")
    description: Description
    rowcount: int  # a property there, an attribute here
    lastrowid: int | None  # type: ignore[assignment]  # SQLite's is None before an INSERT
    arraysize: int

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:  # no aiosqlite's
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # the base class's close() skips it
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self.description = None
        self.rowcount = -1
        self.lastrowid = None
        self.arraysize = 1

    async def _async_soft_close(self) -> None:
        return None  # the rows are already here and there is no cursor left to close

    def execute(self, operation: Any, parameters: Any = None) -> None:
        adapt = self._adapt_connection
        assert isinstance(adapt, LoopConnection)
        try:  # a closed connection's ValueError too: SQLAlchemy's adapter makes it a DB error
            conn = adapt.sqlite
            answer = await_(_on_loop(adapt.timeout, lambda: _execute(conn, operation, parameters)))
        except Exception as error:
            adapt._handle_exception(error)
        self.description, rows, self.rowcount, self.lastrowid = answer
        self._rows = collections.deque(rows)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        adapt = self._adapt_connection
        assert isinstance(adapt, LoopConnection)
        try:
            conn = adapt.sqlite
            done = await_(
                _on_loop(adapt.timeout, lambda: _execute_many(conn, operation, seq_of_parameters))
            )
        except Exception as error:
            adapt._handle_exception(error)
        self.description, self._rows = None, collections.deque()
        self.rowcount, self.lastrowid = done


class LoopConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's connection, its statements, commits and rollbacks run on the loop."""

    __slots__ = ("timeout",)
    _cursor_cls = LoopCursor

    def __init__(self, dbapi: Any, connection: AsyncIODBAPIConnection, timeout: float) -> None:
        super().__init__(dbapi, connection)
        self.timeout = timeout

    @property
    def sqlite(self) -> sqlite3.Connection:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        return connection._conn  # raises ValueError once closed, as aiosqlite's calls do

    def _finish(self, end: Callable[[sqlite3.Connection], None]) -> None:
        try:
            conn = self.sqlite
        except ValueError:
            return  # closed already: nothing to end (aiosqlite's adapter does the same)
        try:
            await_(_on_loop(self.timeout, lambda: end(conn)))
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        self._finish(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._finish(sqlite3.Connection.rollback)


class LoopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module an SQLite engine is made with (`create_async_engine(module=...)`)."""

    def connect(self, *arg: Any, **kw: Any) -> LoopConnection:
        timeout = float(kw.pop("timeout", _DEFAULT_TIMEOUT))
        # Used from the loop's thread, opened and closed in aiosqlite's; never at once.
        connection = aiosqlite.connect(*arg, **{**kw, "timeout": 0, "check_same_thread": False})
        connection._thread.daemon = True  # as SQLAlchemy's aiosqlite adapter does
        return LoopConnection(self, cast(AsyncIODBAPIConnection, await_(connection)), timeout)


def loop_dbapi() -> LoopDBAPI:
    return LoopDBAPI(aiosqlite, sqlite3)
