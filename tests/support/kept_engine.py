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
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from clinicflow.infra.db import Database, make_engine

# SQLite's files beside a database: a copy must not meet the last test's.
_BESIDE = ("-wal", "-shm", "-journal")


class KeptEngine:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite+aiosqlite:///{path}"
        self._engine: AsyncEngine | None = None
        self._lent = False

    def fresh_copy(self, template: Path) -> str:
        """The template copied to the path (the last test's file and its WAL removed first:
        a connection still open on them keeps the old file, never the new one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", *_BESIDE):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copy(template, self.path)
        self._lent = False
        return self.url

    def database(self, url: str, *, echo: bool = False) -> Database | None:
        """A Database over the kept engine for this test's first container over the path
        (None otherwise: the caller builds its own)."""
        if url != self.url or self._lent or echo:
            return None
        if self._engine is None:
            self._engine = make_engine(self.url)
        else:
            # A new pool: whatever the last test's container left in the old one belongs to
            # that test's event loop.
            self._engine.sync_engine.dispose(close=False)
        self._lent = True
        return Database(self.url, engine=self._engine)
