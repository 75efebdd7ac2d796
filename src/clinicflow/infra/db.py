"""Database engine and the unit of work: one transaction per use case (DESIGN rule 3).

SQLite (the embedded default) runs in WAL mode and serializes writers: a process-wide lock
plus BEGIN IMMEDIATE, so a check-then-insert inside a write transaction sees every committed
booking. PostgreSQL runs writers concurrently and lets exclusion constraints forbid overlaps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator

from clinicflow.infra.logging import get_logger
from clinicflow.infra.private_file import create_private_file
from clinicflow.infra.sqlite_dbapi import loop_dbapi

if TYPE_CHECKING:
    from clinicflow.infra.outbox import Event

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC instants in and out, on every database (SQLite keeps no zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database: attach a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


log = get_logger(__name__)

SQLITE_LOCK_WAIT = 15.0  # seconds a statement waits for another connection's SQLite lock

CommitListener = Callable[[Sequence["Event"]], Awaitable[None]]


@asynccontextmanager
async def _rolled_back_unless_committed(conn: AsyncConnection) -> AsyncIterator[None]:
    transaction = await conn.begin()
    try:
        yield
    finally:
        if transaction.is_active:
            await transaction.rollback()


class Database:
    """Owns the engine; hands out read connections and write transactions."""

    def __init__(self, url: str, *, echo: bool = False, engine: AsyncEngine | None = None) -> None:
        """`engine`: one `make_engine(url)` made, kept by the caller from one Database to the
        next over the same URL (its statements compiled once; each Database disposes its
        connections as it closes). Otherwise the Database makes its own."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = engine if engine is not None else make_engine(url, echo=echo)
        # One writer at a time inside this process; BEGIN IMMEDIATE covers other processes.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._listeners: list[CommitListener] = []

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading: SQLite's in one read transaction (one snapshot), and
        PostgreSQL's in autocommit (each statement its own snapshot, as at READ COMMITTED in
        a transaction; nothing here reads at a stricter level)."""
        async with self.engine.connect() as conn:
            if not self.is_sqlite:  # no BEGIN and ROLLBACK: two round trips for nothing
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @asynccontextmanager
    async def write_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A begun write transaction (SQLite: this process's writer lock, then BEGIN
        IMMEDIATE). Rolled back as the block ends unless the caller committed it: a unit of
        work (`infra.unit_of_work`) is its one caller."""
        if self._write_lock is None:
            async with self.engine.connect() as conn, _rolled_back_unless_committed(conn):
                yield conn
        else:
            async with self._write_lock, self.engine.connect() as conn:
                await conn.execution_options(clinicflow_write=True)
                async with _rolled_back_unless_committed(conn):
                    yield conn

    def on_commit(self, listener: CommitListener) -> None:
        """`listener(events)` after each commit that wrote events (see `infra.outbox.record`)."""
        self._listeners.append(listener)

    def off_commit(self, listener: CommitListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def tell(self, events: Sequence[Event]) -> None:
        """The commit listeners hear `events` (a unit of work's, after its commit)."""
        for listener in self._listeners:
            try:
                await listener(events)
            except Exception:  # the write is committed; a listener must not undo its answer
                log.exception("commit_listener_failed", listener=getattr(listener, "__name__", "?"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """The engine a Database over `url` uses: PostgreSQL's pooled, SQLite's with its pragmas
    on each connection and BEGIN IMMEDIATE for writers."""
    if not url.startswith("sqlite"):
        return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20)
    ensure_sqlite_dir(url)
    # Statements on the loop (infra.sqlite_dbapi); a lock held elsewhere waited for up to 15 s.
    engine = create_async_engine(
        url, echo=echo, module=loop_dbapi(), connect_args={"timeout": SQLITE_LOCK_WAIT}
    )
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def ensure_sqlite_dir(url: str) -> None:
    """The database file's folder, and the file itself with mode 0600 (SQLite would make it
    with the umask's mode, often readable by every local user; its -wal and -shm files take
    the database file's mode)."""
    if not url.startswith("sqlite"):
        return  # a server's database (the URL is no path: making folders from it litters)
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if path and path != ":memory:" and not path.startswith("file:"):
        create_private_file(Path(path))


def _sqlite_on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can ask for IMMEDIATE.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    write = conn.get_execution_options().get("clinicflow_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


async def insert_ignoring_duplicates(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; how many rows went in."""
    if not rows:
        return 0
    if len(rows) == 1:  # the usual case (an inbox row, a delivery): a statement compiled once
        return (await conn.execute(_ignoring(conn.dialect.name, table), dict(rows[0]))).rowcount
    # Several rows: the same cached statement, with RETURNING, executed over the list.
    # SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues": batches under the driver's
    # bind limits) rendered from the one compiled form, and a row a conflict skipped returns
    # nothing, so the rows returned are the rows that went in (an executemany's rowcount is
    # not kept by every driver: asyncpg's). A `.values([...])` statement per call was compiled
    # afresh each time, its shape depending on the row count.
    statement = _ignoring(conn.dialect.name, table, returning=True)
    return len((await conn.execute(statement, [dict(row) for row in rows])).all())


async def upsert(
    conn: AsyncConnection,
    table: Table,
    row: Mapping[str, object],
    key: Sequence[str],
    changed: Mapping[str, object],
) -> None:
    """INSERT `row` … ON CONFLICT (`key`) DO UPDATE SET `changed`, on SQLite and PostgreSQL:
    two writers of one key at once both succeed, and the later one's values stay."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(dict(row))
    await conn.execute(statement.on_conflict_do_update(index_elements=key, set_=dict(changed)))


# One statement per dialect, table and RETURNING or not, its values bound at execution, so
# SQLAlchemy's compiled cache keeps it (a `.values([...])` insert has no cache key: compiled
# every time).
_ignoring_statements: dict[tuple[str, Table, bool], Executable] = {}


def _ignoring(dialect_name: str, table: Table, *, returning: bool = False) -> Executable:
    found = _ignoring_statements.get((dialect_name, table, returning))
    if found is None:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        statement = dialect.insert(table).on_conflict_do_nothing()
        key = list(table.primary_key.columns) or list(table.columns)[:1]
        found = statement.returning(*key) if returning else statement
        _ignoring_statements[(dialect_name, table, returning)] = found
    return found
