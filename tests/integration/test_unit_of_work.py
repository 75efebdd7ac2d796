"""The unit of work's contract (`infra/unit_of_work.py`) on real databases: what a commit
writes and runs, what leaving without one leaves (nothing), savepoints, reading units of
work, and a unit of work used outside its block."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, column, func, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra import unit_of_work
from clinicflow.infra.audit import AuditEntry, audit_log, audit_pending, use_key
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.inbox import inbox, mark_handled
from clinicflow.infra.outbox import Event, outbox
from clinicflow.infra.unit_of_work import Factory, TransactionClosed, UnitOfWork
from clinicflow.shared.clock import FixedClock

# Commit, rollback and savepoints are each database's own transactions.
pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
KEY = KeyRing.generate().audit_key


class Failed(RuntimeError):
    """A use case failing inside its block."""


@pytest.fixture
def db(database_of_test: Database) -> Database:
    use_key(database_of_test, KEY)  # `uow.audit` signs the entry with the chain's key
    return database_of_test


@pytest.fixture
def heard(db: Database) -> list[list[str]]:
    """The event ids each commit listener call heard."""
    calls: list[list[str]] = []

    async def listener(events: Sequence[Event]) -> None:
        calls.append([e.event_id for e in events])

    db.on_commit(listener)
    return calls


def event(n: int) -> Event:
    """Event n, the same each time it is asked for."""
    return Event("thing.happened", "thing", f"t-{n}", NOW, {"n": n}, event_id=f"event-{n}")


def entry(n: int) -> AuditEntry:
    return AuditEntry("user", "u-1", "front_desk", "read", "patient", f"p-{n}")


async def count(db: Database, table: Table) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def outbox_ids(db: Database) -> list[str]:
    async with db.read() as conn:
        query = select(outbox.c.event_id).order_by(outbox.c.id)
        return list((await conn.execute(query)).scalars())


async def chained(db: Database) -> list[str]:
    async with db.read() as conn:
        query = select(audit_log.c.resource_id).order_by(audit_log.c.id)
        return list((await conn.execute(query)).scalars())


async def handled(db: Database) -> list[str]:
    async with db.read() as conn:
        query = select(inbox.c.event_id).order_by(inbox.c.event_id)
        return list((await conn.execute(query)).scalars())


def hook(runs: list[str], name: str) -> Callable[[Database], Awaitable[object]]:
    async def run(_: Database) -> None:
        runs.append(name)

    return run


async def one_of_each(
    uow: UnitOfWork, n: int, handled_id: str, hook_name: str, runs: list[str]
) -> None:
    """One of each thing a unit of work writes or keeps until the commit: a row of its own
    (event `handled_id` marked handled), event n, audit entry n and the hook `hook_name`."""
    await mark_handled(uow.connection, "subscriber", handled_id, FixedClock(NOW))
    uow.publish(event(n))
    uow.audit(entry(n), NOW)
    uow.after_commit(hook_name, hook(runs, hook_name))


async def test_commit_writes_the_events_and_audit_entries_and_then_seals_and_tells(
    db: Database, heard: list[list[str]]
) -> None:
    first, second = event(1), event(2)
    async with UnitOfWork(db) as uow:
        uow.publish(first)
        uow.publish(second)
        uow.audit(entry(1), NOW)
        assert await outbox_ids(db) == []  # buffered: nothing is written before the commit
        assert await count(db, audit_pending) == 0
        await uow.commit()
        # Committed: the rows are there for everyone; the seal and the listeners come as
        # the block ends.
        assert await outbox_ids(db) == [first.event_id, second.event_id]
        assert await count(db, audit_pending) == 1
        assert await chained(db) == []
        assert heard == []
    assert await chained(db) == ["p-1"]  # sealed into the chain before the block ended
    assert await count(db, audit_pending) == 0
    assert heard == [[first.event_id, second.event_id]]  # exactly the committed events, once


async def test_leaving_without_commit_writes_nothing_and_runs_nothing(
    db: Database, heard: list[list[str]]
) -> None:
    runs: list[str] = []
    async with UnitOfWork(db) as uow:
        await one_of_each(uow, 1, "e-1", "work", runs)
    assert await handled(db) == []
    assert await outbox_ids(db) == []
    assert await count(db, audit_pending) == 0
    assert await chained(db) == []
    assert runs == []
    assert heard == []


async def test_an_error_inside_the_block_rolls_everything_back_and_propagates(
    db: Database, heard: list[list[str]]
) -> None:
    runs: list[str] = []

    async def failing() -> None:
        async with UnitOfWork(db) as uow:
            await one_of_each(uow, 1, "e-1", "work", runs)
            raise Failed("the use case failed")

    with pytest.raises(Failed):
        await failing()
    assert (await handled(db), await outbox_ids(db), await chained(db)) == ([], [], [])
    assert await count(db, audit_pending) == 0
    assert (runs, heard) == ([], [])
    async with UnitOfWork(db) as uow:  # the database is free for the next one
        uow.publish(event(2))
        await uow.commit()
    assert await outbox_ids(db) == [event(2).event_id]


async def test_after_commit_hooks_run_once_per_name_after_the_commit_before_the_block_ends(
    db: Database,
) -> None:
    runs: list[str] = []
    seen_outbox: list[int] = []

    async def sees_the_commit(database: Database) -> None:
        runs.append("check")
        seen_outbox.append(len(await outbox_ids(database)))  # another connection

    async with UnitOfWork(db) as uow:
        uow.publish(event(1))
        uow.after_commit("send", hook(runs, "send first"))
        uow.after_commit("send", hook(runs, "send again"))  # one name: the last hook, once
        uow.after_commit("check", sees_the_commit)
        await uow.commit()
        assert runs == []  # committed, not yet run
    assert runs == ["send again", "check"]  # before `async with` returned
    assert seen_outbox == [1]  # the hook ran after the commit: it sees the row


async def test_a_failing_hook_does_not_undo_the_commit_nor_stop_the_others(
    db: Database, heard: list[list[str]]
) -> None:
    runs: list[str] = []

    async def broken(_: Database) -> None:
        raise Failed("the mail server is down")

    async with UnitOfWork(db) as uow:
        uow.publish(event(1))
        uow.after_commit("broken", broken)
        uow.after_commit("next", hook(runs, "next"))
        await uow.commit()
    assert await outbox_ids(db) == [event(1).event_id]
    assert runs == ["next"]
    assert heard == [[event(1).event_id]]


async def test_commit_listeners_hear_exactly_the_committed_events(
    db: Database, heard: list[list[str]]
) -> None:
    async with UnitOfWork(db) as uow:  # rolled back: not heard
        uow.publish(event(1))
    async with UnitOfWork(db) as uow:  # committed without events: nothing to hear
        await mark_handled(uow.connection, "subscriber", "e-1", FixedClock(NOW))
        await uow.commit()
    async with UnitOfWork(db) as uow:
        uow.publish(event(2), event(3))
        await uow.commit()
    assert heard == [[event(2).event_id, event(3).event_id]]


class Tracked(UnitOfWork):
    """A context's unit of work with state of its own, kept through savepoints."""

    touched: list[str]

    def _open(self, conn: AsyncConnection) -> None:
        self.touched = []

    def _saved(self) -> object:
        return (super()._saved(), list(self.touched))

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, tuple)
        base, touched = saved
        super()._restore(base)
        self.touched = touched


async def test_a_savepoints_undo_drops_what_came_after_it_and_keeps_what_came_before(
    db: Database, heard: list[list[str]]
) -> None:
    runs: list[str] = []
    async with Tracked(db) as uow:
        await one_of_each(uow, 1, "kept", "before", runs)
        uow.touched.append("before")

        undo = await uow.savepoint("member_1")
        await one_of_each(uow, 2, "dropped", "after", runs)
        uow.after_commit("before", hook(runs, "replaced after the savepoint"))
        uow.touched.append("after")
        await undo()

        assert uow.touched == ["before"]  # the subclass's state, as it was
        await uow.commit()
    assert await handled(db) == ["kept"]  # the row written after the savepoint is gone
    assert await outbox_ids(db) == [event(1).event_id]
    assert await chained(db) == ["p-1"]
    assert runs == ["before"]
    assert heard == [[event(1).event_id]]


async def test_a_reading_unit_of_work_refuses_to_commit_and_takes_no_writer_lock(
    db: Database,
) -> None:
    units = Factory(db, UnitOfWork)
    async with units() as writing:
        await mark_handled(writing.connection, "subscriber", "e-1", FixedClock(NOW))
        # A reader opens while a writer holds its transaction (SQLite's writer lock too).
        async with asyncio.timeout(5), units.reading() as reading:
            assert not reading.write
            with pytest.raises(TransactionClosed, match="nothing to commit"):
                await reading.commit()
        await writing.commit()
    assert await handled(db) == ["e-1"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_postgresql_reader_holds_no_transaction_between_its_statements(
    db: Database,
) -> None:
    """Reading units of work on PostgreSQL run without BEGIN and ROLLBACK (at READ COMMITTED
    each statement takes its own snapshot inside a transaction too): a reader awaiting
    something between two statements is `idle`, not `idle in transaction`."""
    async with Factory(db, UnitOfWork).reading() as reading:
        pid = (await reading.connection.execute(select(func.pg_backend_pid()))).scalar_one()
        async with db.read() as other:
            state = await other.scalar(
                select(column("state"))
                .select_from(table("pg_stat_activity"))
                .where(column("pid") == pid)
            )
    assert state == "idle"


async def test_a_unit_of_work_used_outside_its_block_raises_transaction_closed(
    db: Database,
) -> None:
    uow = UnitOfWork(db)
    with pytest.raises(TransactionClosed):
        _ = uow.connection
    with pytest.raises(TransactionClosed):
        uow.publish(event(1))
    with pytest.raises(TransactionClosed):
        await uow.commit()
    with pytest.raises(TransactionClosed):
        await uow.savepoint("too_early")
    async with uow:
        await uow.commit()
    with pytest.raises(TransactionClosed):
        _ = uow.connection
    with pytest.raises(TransactionClosed):
        uow.publish(event(2))
    with pytest.raises(TransactionClosed):
        await uow.commit()
    assert await outbox_ids(db) == []


class Handle:
    """A repository that only remembers the connection it was made on."""

    def __init__(self, conn: AsyncConnection, label: str = "") -> None:
        self.conn = conn
        self.label = label


class Declared(UnitOfWork):
    def _labelled(self, conn: AsyncConnection) -> Handle:
        return Handle(conn, f"write={self.write}")

    plain = unit_of_work.on_connection(Handle)
    labelled = unit_of_work.OnConnection(_labelled)


async def test_a_declared_repository_is_made_once_per_block_on_its_connection(
    db: Database,
) -> None:
    uow = Declared(db)
    made: list[Handle] = []
    for _ in range(2):
        with pytest.raises(TransactionClosed):
            _ = uow.plain
        async with uow:
            made.append(uow.plain)
            assert uow.plain is made[-1]
            assert made[-1].conn is uow.connection
            assert uow.labelled.conn is uow.connection
            assert uow.labelled.label == "write=True"
        with pytest.raises(TransactionClosed):
            _ = uow.labelled
    assert made[0] is not made[1]
    async with Declared(db, write=False) as reading:
        assert reading.labelled.label == "write=False"


async def test_publishing_after_the_commit_raises_transaction_closed(
    db: Database, heard: list[list[str]]
) -> None:
    async with UnitOfWork(db) as uow:
        await uow.commit()
        with pytest.raises(TransactionClosed):
            uow.publish(event(1))
        with pytest.raises(TransactionClosed):
            uow.audit(entry(1), NOW)
    assert heard == []
