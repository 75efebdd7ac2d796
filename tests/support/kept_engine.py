"""One SQLAlchemy engine per test process for the SQLite database its tests' containers open.

SQLAlchemy compiles each statement once per engine (its cache is keyed on the engine's
dialect), and a Database makes an engine of its own: every test's container compiled every
statement it ran again, ~0.3 ms each, about a tenth of the CPU of a test that makes a few
requests. Here each test still gets a fresh copy of the migrated template, but at the same
path in its process, so the `container` fixture can hand build() a Database over the engine
kept for that path: its pool is new for each test (and disposed as the container closes), its
compiled statements are the earlier tests'.

A test gets the kept engine for its first container over the path; a second one open at the
same time (another server over the same database) makes its own, as production does.

PostgreSQL's copies (support/pg_copies.py) each have a name of their own, so `KeptPgEngine`
keeps one engine for whichever copy the test in hand was given: its connections are pointed
at that copy as they open (SQLAlchemy's `do_connect` event), and its pool is new for each
test. Without it every PostgreSQL test's container compiled its statements anew: 11,000 of
the 16,000 statements the integration tests compiled in a run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

from clinicflow.infra.db import Database, make_engine

# SQLite's files beside a database: a copy must not meet the last test's.
_BESIDE = ("-wal", "-shm", "-journal")


class _Kept:
    """Lends one engine, kept for the process, to the first Database of each test over the
    test's database; `_make` makes it the first time."""

    url: str | None

    def __init__(self) -> None:
        self._engine: AsyncEngine | None = None
        self._lent = False

    def _next_test(self) -> None:
        self._lent = False

    def database(self, url: str) -> Database | None:
        """A Database over the kept engine for this test's first Database over its database
        (None otherwise: the caller makes its own)."""
        if url != self.url or self._lent:
            return None
        if self._engine is None:
            self._engine = self._make(url)
        else:
            # A new pool: whatever the last test left in the old one belongs to that test's
            # event loop (and, on PostgreSQL, to its copy).
            self._engine.sync_engine.dispose(close=False)
        self._lent = True
        return Database(url, engine=self._engine)

    def _make(self, url: str) -> AsyncEngine:
        return make_engine(url)


class KeptEngine(_Kept):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.url = f"sqlite+aiosqlite:///{path}"

    def fresh_copy(self, template: Path) -> str:
        """The template copied to the path (the last test's file and its WAL removed first:
        a connection still open on them keeps the old file, never the new one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", *_BESIDE):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copy(template, self.path)
        self._next_test()
        assert self.url is not None
        return self.url


class KeptPgEngine(_Kept):
    def __init__(self) -> None:
        super().__init__()
        self.url = None
        self._copy: str | None = None

    def use(self, url: str) -> str:
        """The test in hand's copy (a fresh one, support/pg_copies.py): the kept engine's
        connections go there from now on."""
        self.url, self._copy = url, make_url(url).database
        self._next_test()
        return url

    def _make(self, url: str) -> AsyncEngine:
        engine = make_engine(url)
        event.listen(engine.sync_engine, "do_connect", self._to_the_copy)
        return engine

    def _to_the_copy(
        self,
        _dialect: Dialect,
        _record: ConnectionPoolEntry,
        _args: list[object],
        params: dict[str, object],
    ) -> None:
        params["database"] = self._copy
