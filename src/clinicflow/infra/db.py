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
from typing import Any

from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from clinicflow.infra.logging import get_logger
from clinicflow.infra.private_file import create_private_file

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

# Where `outbox.record` leaves the events of the transaction under way (on its connection).
COMMITTED_EVENTS = "clinicflow_committed_events"
CommitListener = Callable[[Sequence[Any]], Awaitable[None]]
# Work a transaction leaves for after its commit (`after_commit`), by name.
AFTER_COMMIT = "clinicflow_after_commit"
AfterCommit = Callable[["Database"], Awaitable[Any]]


# Rows a transaction's appenders buffer for one multi-row INSERT at its end (`buffer`).
BUFFERED = "clinicflow_buffered_rows"


def buffer(conn: AsyncConnection, table: Table, row: Mapping[str, Any]) -> None:
    """Insert `row` into `table` when this write transaction ends, just before it commits,
    together with the rows buffered for that table (one statement per table). For append-
    only rows nothing in the transaction reads back — outbox events, audit entries — so a
    batch of bookings sharing a transaction (`infra.group_commit`) writes each table once."""
    conn.info.setdefault(BUFFERED, {}).setdefault(table, []).append(row)


async def _flush(conn: AsyncConnection) -> None:
    for table, rows in conn.info.pop(BUFFERED, {}).items():
        await conn.execute(table.insert(), rows)


# What a use case keeps about its transaction (e.g. the slot locks it holds), by name.
TRANSACTION_STATE = "clinicflow_transaction_state"
_PER_TRANSACTION = (BUFFERED, COMMITTED_EVENTS, AFTER_COMMIT, TRANSACTION_STATE)


def transaction_state(conn: AsyncConnection) -> dict[str, Any]:
    """A dict that lives as long as this write transaction (`Database.write` drops it);
    a savepoint's rollback (`savepoint`) restores it as it was."""
    state: dict[str, Any] = conn.info.setdefault(TRANSACTION_STATE, {})
    return state


async def savepoint(conn: AsyncConnection, name: str) -> Callable[[], Awaitable[None]]:
    """SAVEPOINT `name` now; the returned undo rolls the transaction back to it, and the
    transaction's buffered rows, events, after-commit work and state with it. No RELEASE:
    the commit ends them all, and a batch of bookings (`infra.group_commit`) pays one round
    trip per member."""
    await conn.exec_driver_sql(f"SAVEPOINT {name}")
    kept = {key: _copied(conn.info[key]) for key in _PER_TRANSACTION if key in conn.info}

    async def undo() -> None:
        await conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
        for key in _PER_TRANSACTION:
            conn.info.pop(key, None)
        conn.info.update(kept)

    return undo


def _copied(value: Any) -> Any:
    """One level deeper than `copy`: the per-table row lists, the state's sets of keys."""
    if isinstance(value, dict):
        return {k: v.copy() if hasattr(v, "copy") else v for k, v in value.items()}
    return value.copy()


def _end_of_transaction(info: dict[Any, Any]) -> tuple[list[Any], dict[str, AfterCommit]]:
    """Clears what the transaction left on its connection: its events and its hooks."""
    info.pop(BUFFERED, None)
    info.pop(TRANSACTION_STATE, None)
    return info.pop(COMMITTED_EVENTS, []), info.pop(AFTER_COMMIT, {})


def after_commit(conn: AsyncConnection, name: str, hook: AfterCommit) -> None:
    """Run `hook(db)` once after this write transaction commits (never if it rolls back),
    before `Database.write`'s caller goes on; asking twice under one name runs it once."""
    conn.info.setdefault(AFTER_COMMIT, {})[name] = hook


class Database:
    """Owns the engine; hands out read connections and write transactions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _make_engine(url, echo=echo)
        # One writer at a time inside this process; BEGIN IMMEDIATE covers other processes.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._listeners: list[CommitListener] = []

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block ends normally and rolls back otherwise.

        After a commit, and before the block's caller goes on, the commit listeners hear the
        events the transaction wrote to the outbox: a cache dropped there is dropped before the
        write's response leaves (read-your-writes)."""
        committed: list[Any] = []
        hooks: dict[str, AfterCommit] = {}
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                # Held here: a connection invalidated by a cancelled query refuses `.info`.
                info = conn.info
                try:
                    yield conn
                    await _flush(conn)
                finally:
                    committed, hooks = _end_of_transaction(info)
        else:
            async with self._write_lock, self.engine.connect() as conn:
                await conn.execution_options(clinicflow_write=True)
                info = conn.info
                try:
                    async with conn.begin():
                        yield conn
                        await _flush(conn)
                finally:
                    committed, hooks = _end_of_transaction(info)
        for name, hook in hooks.items():
            try:
                await hook(self)
            except Exception:  # committed; whatever the hook does is retried by its job
                log.exception("after_commit_failed", work=name)
        if committed:
            await self._tell(committed)

    def on_commit(self, listener: CommitListener) -> None:
        """`listener(events)` after each commit that wrote events (see `infra.outbox.record`)."""
        self._listeners.append(listener)

    def off_commit(self, listener: CommitListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def _tell(self, events: list[Any]) -> None:
        for listener in self._listeners:
            try:
                await listener(events)
            except Exception:  # the write is committed; a listener must not undo its answer
                log.exception("commit_listener_failed", listener=getattr(listener, "__name__", "?"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _make_engine(url: str, *, echo: bool) -> AsyncEngine:
    if not url.startswith("sqlite"):
        return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20)
    ensure_sqlite_dir(url)
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 15})
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
        "busy_timeout=15000",
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
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = 0
    for start in range(0, len(rows), 200):  # one multi-row statement, well under bind limits
        chunk = [dict(row) for row in rows[start : start + 200]]
        statement = dialect.insert(table).values(chunk).on_conflict_do_nothing()
        inserted += (await conn.execute(statement)).rowcount
    return inserted
