"""Each test's own copy of a migrated PostgreSQL template, made ahead and dropped behind.

PostgreSQL takes from a fifth of a second to seconds for each copy and each drop (`DROP
DATABASE` waits for a checkpoint), and none of that needs the test. Copies are made with
STRATEGY FILE_COPY: the default (WAL_LOG) writes each copy through shared buffers and the WAL,
and each drop's checkpoint then writes those pages out again (the checkpointer's CPU over a
run: ~12 s with it, ~2 s with file copies). A thread with its own event loop makes the next
test's copy while this one runs, and drops each used copy after its test, on two admin
connections kept open for the session. Every test still gets a fresh copy of the template,
dropped `WITH (FORCE)` once it is done.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")

PG_ADMIN_DSN = os.environ.get("CLINICFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def drop_sql(name: str) -> str:
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


def pg_url(database: str) -> str:
    """The app's URL for `database` on the test server."""
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def admin_sql(sql: str) -> None:
    """One statement on an admin connection of its own (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class PgCopies:
    def __init__(self, admin_dsn: str, template: str) -> None:
        self._dsn, self._template = admin_dsn, template
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-copies")
        self._thread.start()
        self._admins: dict[str, asyncpg.Connection] = {}
        # One statement at a time on each connection; a drop never delays the next copy.
        self._locks = {"create": asyncio.Lock(), "drop": asyncio.Lock()}
        self._drops: list[concurrent.futures.Future[None]] = []
        self._next = self._submit(self._create())

    def take(self) -> str:
        """A copy no test has used, and the next one started."""
        made, self._next = self._next, self._submit(self._create())
        try:
            return made.result()
        except (OSError, asyncpg.PostgresError):  # made again, in the open if it fails again
            return self._submit(self._create()).result()

    def drop(self, name: str) -> None:
        """Drops `name` in the background (a failure is reported by `close`)."""
        self._drops = [d for d in self._drops if not d.done() or d.exception() is not None]
        self._drops.append(self._submit(self._execute("drop", drop_sql(name))))

    def close(self) -> None:
        """Drops the copy made ahead, waits for every drop, and ends the thread."""
        try:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                self.drop(self._next.result())
            failed = [d.exception() for d in self._drops if d.exception() is not None]
            assert not failed, f"dropping test databases failed: {failed}"
        finally:
            self._submit(self._close_admins()).result()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def _submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    async def _create(self) -> str:
        name = f"clinicflow_t_{uuid.uuid4().hex[:12]}"
        copy = f'CREATE DATABASE "{name}" TEMPLATE "{self._template}" STRATEGY FILE_COPY'
        await self._execute("create", copy)
        return name

    async def _execute(self, role: str, sql: str) -> None:
        async with self._locks[role]:
            admin = self._admins.get(role)
            if admin is None or admin.is_closed():
                admin = self._admins[role] = await asyncpg.connect(self._dsn)
            await admin.execute(sql)

    async def _close_admins(self) -> None:
        for admin in self._admins.values():
            await admin.close()
