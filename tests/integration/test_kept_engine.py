"""The suite's kept SQLite and PostgreSQL engines (support/kept_engine.py): each test's
SQLite copy starts from the template whatever the last test left at the path (its WAL
included), the first container of a test gets the kept engine and a second one open beside
it gets none (it makes its own), a statement the kept engine compiled for one test is not
compiled again for the next, and the PostgreSQL engine reaches each test's own copy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine.interfaces import CacheStats

from clinicflow.infra.db import Database
from support.kept_engine import KeptEngine, KeptPgEngine
from support.pg_copies import PgCopies, pg_url


async def test_each_copy_is_the_template_and_the_engine_is_lent_once_a_test(
    tmp_path: Path, sqlite_template: Path
) -> None:
    kept = KeptEngine(tmp_path / "kept" / "clinicflow.sqlite3")
    url = kept.fresh_copy(sqlite_template)
    first = kept.database(url)
    assert first is not None
    assert kept.database(url) is None  # a second container in the same test: its own engine
    assert kept.database("sqlite+aiosqlite:///elsewhere.sqlite3") is None
    async with first.write_transaction() as conn:
        await conn.execute(text("CREATE TABLE left_behind (n INTEGER)"))
        await conn.commit()
    wal = Path(f"{kept.path}-wal")
    assert await asyncio.to_thread(wal.exists)  # the engine is still open: WAL mode
    await first.dispose()

    again = kept.database(kept.fresh_copy(sqlite_template))  # the next test
    assert again is not None
    assert again.engine is first.engine
    async with again.read() as conn:
        tables = (await conn.execute(text("SELECT name FROM sqlite_master"))).scalars().all()
    assert "left_behind" not in tables
    await again.dispose()


async def test_the_next_test_reuses_what_the_last_one_compiled(
    tmp_path: Path, sqlite_template: Path
) -> None:
    kept = KeptEngine(tmp_path / "kept" / "clinicflow.sqlite3")
    statement = text("SELECT count(*) FROM sqlite_master WHERE type = :kind")
    seen: list[CacheStats] = []
    for _ in range(2):  # two tests in a row
        db = kept.database(kept.fresh_copy(sqlite_template))
        assert db is not None
        async with db.read() as conn:
            result = await conn.execute(statement, {"kind": "table"})
            seen.append(result.context.cache_hit)
        await db.dispose()
    assert seen == [CacheStats.CACHE_MISS, CacheStats.CACHE_HIT]
    # A Database of its own (what production and a test's second container make) compiles.
    own = Database(kept.url)
    async with own.read() as conn:
        result = await conn.execute(statement, {"kind": "table"})
        assert result.context.cache_hit is CacheStats.CACHE_MISS
    await own.dispose()


@pytest.mark.postgres
async def test_the_postgresql_engine_follows_each_tests_copy_and_keeps_what_it_compiled(
    pg_copies: PgCopies,
) -> None:
    """Two tests in a row, each with a copy of its own: the kept engine's connections reach
    the copy of the test in hand, and the second test's statement was compiled by the first."""
    kept = KeptPgEngine()
    statement = text("SELECT current_database() AS name, :kind AS kind")
    names, seen = [], []
    for _ in range(2):
        name = pg_copies.take()
        try:
            url = kept.use(pg_url(name))
            db = kept.database(url)
            assert db is not None
            assert kept.database(url) is None  # a second container: its own engine
            async with db.read() as conn:
                result = await conn.execute(statement, {"kind": "table"})
                seen.append(result.context.cache_hit)
                names.append((name, result.one().name))
            await db.dispose()
        finally:
            pg_copies.drop(name)
    assert [copy for copy, _ in names] == [reached for _, reached in names]
    assert names[0][0] != names[1][0]
    assert seen == [CacheStats.CACHE_MISS, CacheStats.CACHE_HIT]
