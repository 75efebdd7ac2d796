"""The unit of work: one transaction, and everything it leaves for its commit, in the open.

A use case takes a factory of its context's unit of work and runs

    async with self._uow() as uow:            # BEGIN (a write: SQLite's writer lock first)
        booking = await uow.bookings.locked(booking_id)
        ...
        uow.publish(booking_event("cancelled", booking, now))   # outbox, at commit
        uow.audit(entry, now)                                   # audit chain, at commit
        uow.after_commit("work", hook)                          # after commit, once
        await uow.commit()                                      # or it rolls back

The base class below owns the transaction and its side channels; each context subclasses it
and declares its repositories (`uow.bookings`, `uow.patients` …) as `OnConnection` class
attributes (or builds them in `_open`), the only places that see the SQLAlchemy connection
(`connection`). Leaving the block without `commit()`
rolls everything back: rows, events, audit entries and hooks.

On commit: the append-only rows (outbox events, audit entries) are inserted, one statement
per table, just before COMMIT (`buffer`: a group-commit batch writes each table once); then
the after-commit hooks run (the audit seal, a message to send), then the commit listeners
hear the events (the availability cache drops what changed) — all before `commit()`
returns, so a write's answer leaves after its cache is dropped (read-your-writes).

`reading()` units of work open a plain read transaction: no writer lock, no commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Protocol, Self, TypeVar, cast, overload

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.logging import get_logger
from clinicflow.infra.outbox import Event, outbox, outbox_row
from clinicflow.infra.telemetry import current_traceparent

if TYPE_CHECKING:
    from clinicflow.infra.audit import AuditEntry
    from clinicflow.infra.db import Database

log = get_logger(__name__)

AfterCommit = Callable[["Database"], Awaitable[object]]
# Round-tripped through JSON before it is stored; any JSON value.
Row = Mapping[str, object]


class TransactionClosed(RuntimeError):
    """The unit of work was used outside its `async with` block, or after its commit."""


class Transaction(Protocol):
    """A unit of work as a use case sees it: the side channels and the commit. Each context's
    unit-of-work protocol (in its `ports.py`) extends this one with its repositories."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    def publish(self, *events: Event) -> None: ...

    def audit(self, entry: AuditEntry, now: datetime) -> None: ...

    def after_commit(self, name: str, hook: AfterCommit) -> None: ...

    async def savepoint(self, name: str) -> Callable[[], Awaitable[None]]: ...


class UnitOfWork:
    """One transaction: repositories (in subclasses) and the explicit side channels."""

    def __init__(self, db: Database, *, write: bool = True) -> None:
        self.db = db
        self.write = write
        self._conn: AsyncConnection | None = None
        self._stack: AsyncExitStack | None = None
        self._rows: dict[Table, list[Row]] = {}
        self._events: list[Event] = []
        self._hooks: dict[str, AfterCommit] = {}
        self._committed = False
        self._made: dict[str, object] = {}  # the `OnConnection` repositories made in this block

    # -- the transaction ------------------------------------------------------------------

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection: for repositories (and infra) only, never use cases."""
        if self._conn is None:
            raise TransactionClosed("the unit of work is not open: use `async with uow:`")
        return self._conn

    async def __aenter__(self) -> Self:
        stack = AsyncExitStack()
        try:
            if self.write:
                self._conn = await stack.enter_async_context(self.db.write_transaction())
            else:
                self._conn = await stack.enter_async_context(self.db.read())
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._committed = False
        self._open(self._conn)
        return self

    def _open(self, conn: AsyncConnection) -> None:
        """Builds the context's repositories on the transaction's connection."""

    def _close(self) -> None:
        """Drops the context's repositories as the block ends, so none outlives it."""

    def _failed(self, exc: BaseException) -> None:
        """After the rollback of a block that raised `exc`: raises the context's own error for
        it, if it has one; otherwise `exc` goes on as it is."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()
        self._made = {}
        stack, self._stack, self._conn = self._stack, None, None
        committed = self._committed
        events, hooks = self._events, self._hooks
        self._rows, self._events, self._hooks = {}, [], {}
        if stack is not None:
            # Not committed: the transaction's context rolls it back as it closes.
            await stack.__aexit__(exc_type, exc, tb)
        if committed:
            await self._after(hooks, events)
        if exc is not None:
            self._failed(exc)

    async def commit(self) -> None:
        """Inserts the buffered rows and commits. The after-commit hooks and the commit
        listeners run as the block ends (so a group-commit batch's answers wait for both)."""
        conn = self.connection
        if not self.write:
            raise TransactionClosed("a reading unit of work has nothing to commit")
        for table, rows in self._rows.items():
            await conn.execute(table.insert(), rows)
        self._rows = {}
        await conn.commit()
        self._committed = True

    async def _after(self, hooks: dict[str, AfterCommit], events: list[Event]) -> None:
        for name, hook in hooks.items():
            try:
                await hook(self.db)
            except Exception:  # committed; whatever the hook does is retried by its job
                log.exception("after_commit_failed", work=name)
        if events:
            await self.db.tell(events)

    # -- the side channels ----------------------------------------------------------------

    def publish(self, *events: Event) -> None:
        """Into the outbox with this transaction; the commit listeners hear them after it."""
        if not events:
            return
        self._open_for("publish")
        self._events.extend(events)
        # The trace of the request (or job) that made the change: its handlers continue it.
        traceparent = current_traceparent()
        for event in events:
            self.buffer_row(outbox, outbox_row(event, traceparent))

    def audit(self, entry: AuditEntry, now: datetime) -> None:
        """An audit entry, committed with this transaction and sealed into the chain after."""
        from clinicflow.infra.audit import append_to  # audit imports this module's type only

        append_to(self, entry, now)

    def after_commit(self, name: str, hook: AfterCommit) -> None:
        """`hook(db)` once after this transaction commits (never if it rolls back), before
        `async with` ends; asking twice under one name runs it once."""
        self._open_for("after_commit")
        self._hooks[name] = hook

    def buffer_row(self, table: Table, row: Row) -> None:
        """`row` goes into `table` as this transaction commits, together with the others
        buffered for that table (one statement). For append-only rows nothing in the
        transaction reads back."""
        self._open_for("buffer_row")
        self._rows.setdefault(table, []).append(row)

    def _open_for(self, what: str) -> None:
        """Refuses side-channel work outside the block or after the commit: nothing would
        write it (a silent loss), and the listeners might hear what was never stored."""
        if self._conn is None:
            raise TransactionClosed(f"{what} inside `async with uow:`")
        if self._committed:
            raise TransactionClosed(f"{what} after commit(): open a new unit of work")

    async def savepoint(self, name: str) -> Callable[[], Awaitable[None]]:
        """SAVEPOINT `name` now; the returned undo rolls the transaction back to it, and the
        buffered rows, events, hooks and the subclass's own state (`_saved`) with it. No
        RELEASE: the commit ends them all (one round trip per group-commit member)."""
        conn = self.connection
        await conn.exec_driver_sql(f"SAVEPOINT {name}")
        rows = {table: list(kept) for table, kept in self._rows.items()}
        events, hooks = list(self._events), dict(self._hooks)
        saved = self._saved()

        async def undo() -> None:
            await conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
            self._rows, self._events, self._hooks = rows, events, hooks
            self._restore(saved)

        return undo

    def _saved(self) -> object:
        """What a subclass keeps per transaction, for `savepoint` to restore."""
        return None

    def _restore(self, saved: object) -> None:
        """Puts back what `_saved` returned."""


U_co = TypeVar("U_co", bound=Transaction, covariant=True)
U = TypeVar("U", bound=UnitOfWork)
R = TypeVar("R")


class OnConnection(Generic[U, R]):
    """A repository of a unit of work, declared on its class: `orders =
    on_connection(SqlOrders)`, or, for one that needs what the unit of work was built with,
    `visits = OnConnection(_visits)` over a method `_visits(self, conn)`. It is made on the
    transaction's connection the first time a block asks for it and kept until the block
    ends; outside `async with uow:` asking for it raises TransactionClosed. (The in-memory
    fakes declare theirs alike: tests/support/fake_tables.py.)"""

    def __init__(self, make: Callable[[U, AsyncConnection], R]) -> None:
        self._make = make
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Self: ...
    @overload
    def __get__(self, uow: U, owner: type) -> R: ...
    def __get__(self, uow: U | None, owner: type) -> Self | R:
        if uow is None:
            return self
        conn = uow.connection  # TransactionClosed outside the block
        made = uow._made
        if self._name not in made:
            made[self._name] = self._make(uow, conn)
        return cast(R, made[self._name])


def on_connection(make: Callable[[AsyncConnection], R]) -> OnConnection[UnitOfWork, R]:
    """An `OnConnection` repository made from the connection alone: `SqlOrders(conn)`."""
    return OnConnection(lambda _, conn: make(conn))


class UnitsOfWork(Protocol[U_co]):
    """What a use case is given: new units of work of its context, writing or reading."""

    def __call__(self) -> U_co: ...

    def reading(self) -> U_co: ...


class Factory(Generic[U]):
    """`UnitsOfWork` over a database: `Factory(db, BookingUnitOfWork)`."""

    def __init__(self, db: Database, make: Callable[..., U]) -> None:
        self._db = db
        self._make = make

    def __call__(self) -> U:
        return self._make(self._db, write=True)

    def reading(self) -> U:
        return self._make(self._db, write=False)
