"""`insert_ignoring_duplicates` (infra/db.py) on SQLite and PostgreSQL: the rows that went in
are counted, a row already there or twice in one call is skipped without an error, and a call
with more rows than one statement may bind still puts every row in.

Its several-row form is one cached statement executed over the list (SQLAlchemy's
"insertmanyvalues" splits it into multi-row INSERTs) and counts the rows RETURNING gives back:
the drivers do not all keep an executemany's rowcount."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine.interfaces import CacheStats

from clinicflow.infra.db import Database, insert_ignoring_duplicates
from clinicflow.infra.inbox import inbox
from clinicflow.infra.unit_of_work import UnitOfWork

pytestmark = pytest.mark.both_databases

AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def handled(subscriber: str, n: int) -> dict[str, object]:
    event_id = f"00000000-0000-4000-8000-{n:012d}"
    return {"subscriber": subscriber, "event_id": event_id, "handled_at": AT}


@pytest.fixture
def db(database_of_test: Database) -> Database:
    return database_of_test


async def insert(db: Database, rows: list[dict[str, object]]) -> int:
    async with UnitOfWork(db) as uow:
        inserted = await insert_ignoring_duplicates(uow.connection, inbox, rows)
        await uow.commit()
    return inserted


async def stored(db: Database, subscriber: str) -> set[str]:
    async with UnitOfWork(db) as uow:
        found = await uow.connection.execute(
            select(inbox.c.event_id).where(inbox.c.subscriber == subscriber)
        )
        return {str(event_id) for (event_id,) in found}


async def test_one_row_is_counted_once_and_skipped_the_second_time(db: Database) -> None:
    assert await insert(db, [handled("one", 1)]) == 1
    assert await insert(db, [handled("one", 1)]) == 0
    assert await stored(db, "one") == {handled("one", 1)["event_id"]}


async def test_several_rows_count_only_those_that_went_in(db: Database) -> None:
    assert await insert(db, [handled("many", n) for n in (1, 2)]) == 2
    # 2 is there already and 3 comes twice: 3 and 4 go in.
    again = [handled("many", n) for n in (2, 3, 3, 4)]
    assert await insert(db, again) == 2
    assert await stored(db, "many") == {handled("many", n)["event_id"] for n in (1, 2, 3, 4)}


async def test_more_rows_than_one_statement_binds_all_go_in(db: Database) -> None:
    # 3 parameters a row: 12,000 rows are 36,000 parameters, past SQLite's 32,766 and
    # PostgreSQL's 32,767 for one statement.
    rows = [handled("bulk", n) for n in range(12_000)]
    assert await insert(db, rows) == 12_000
    assert await insert(db, [*rows[:10], handled("bulk", 12_000)]) == 1
    async with UnitOfWork(db) as uow:
        count = await uow.connection.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.subscriber == "bulk")
        )
    assert count == 12_001


async def test_no_rows_insert_nothing(db: Database) -> None:
    assert await insert(db, []) == 0
    assert await stored(db, "none") == set()


async def test_calls_with_other_row_counts_reuse_one_compiled_statement(db: Database) -> None:
    """Each several-row call, whatever its row count, runs from the statement SQLAlchemy
    compiled the first time (a `.values([...])` statement was compiled for every call)."""
    caching: list[CacheStats] = []

    def seen(*args: object) -> None:
        context = args[4]
        if "infra_inbox" in str(args[2]):
            caching.append(context.cache_hit)  # type: ignore[attr-defined]

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        for n, rows in enumerate((2, 3, 7, 2)):
            assert await insert(db, [handled(f"cached-{n}", k) for k in range(rows)]) == rows
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    assert caching[0] in (CacheStats.CACHE_MISS, CacheStats.CACHE_HIT)  # another test's, maybe
    assert caching[1:] == [CacheStats.CACHE_HIT] * 3
