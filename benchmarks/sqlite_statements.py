"""What one SQLite statement costs through the async engine: SQLAlchemy's aiosqlite adapter
(each statement four trips to aiosqlite's thread) beside clinicflow's engine (`make_engine`,
statements on the loop: infra/sqlite_dbapi.py), and SQLAlchemy's synchronous pysqlite engine
for scale. Both async engines have the same pragmas and BEGIN IMMEDIATE writers, through
`Database`, over one WAL file in a temp dir.

Prints, for each: CPU and wall time per one-row SELECT by key, per write transaction (BEGIN
IMMEDIATE, one INSERT, COMMIT), and 50 concurrent tasks of 40 reads each (as 50 requests
at once would read).

    .venv/bin/python benchmarks/sqlite_statements.py
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import create_async_engine

from clinicflow.infra import db as infra_db
from clinicflow.infra.db import Database, make_engine

metadata = MetaData()
note = Table(
    "note",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", String, nullable=False),
)
BY_KEY = select(note).where(note.c.id == 5)


def _aiosqlite_engine(url: str) -> Database:
    """SQLAlchemy's own aiosqlite adapter, with the pragmas and writers `make_engine` sets."""
    engine = create_async_engine(url, connect_args={"timeout": 15})
    event.listen(engine.sync_engine, "connect", infra_db._sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", infra_db._sqlite_on_begin)
    return Database(url, engine=engine)


async def _timed(what: Callable[[], Awaitable[None]], count: int) -> tuple[float, float]:
    """CPU and wall microseconds per unit of `count`."""
    cpu, wall = time.process_time(), time.perf_counter()
    await what()
    return (
        (time.process_time() - cpu) * 1e6 / count,
        (time.perf_counter() - wall) * 1e6 / count,
    )


async def _measure(db: Database, reads: int, writes: int) -> dict[str, tuple[float, float]]:
    async def read_many() -> None:
        async with db.read() as conn:
            for _ in range(reads):
                (await conn.execute(BY_KEY)).all()

    async def write_many() -> None:
        for n in range(writes):
            async with db.write_transaction() as conn:
                await conn.execute(insert(note).values(body=f"w{n}"))
                await conn.commit()

    async def requests_at_once() -> None:
        async def one() -> None:
            async with db.read() as conn:
                for _ in range(40):
                    (await conn.execute(BY_KEY)).all()

        await asyncio.gather(*(one() for _ in range(50)))

    await read_many()  # warm: statements compiled, connections pooled
    return {
        "select by key": await _timed(read_many, reads),
        "write transaction": await _timed(write_many, writes),
        "50 tasks x 40 reads": await _timed(requests_at_once, 50 * 40),
    }


def _sync_reads(path: Path, reads: int) -> tuple[float, float]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        for _ in range(100):
            conn.execute(BY_KEY).all()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(reads):
            conn.execute(BY_KEY).all()
        done = (
            (time.process_time() - cpu) * 1e6 / reads,
            (time.perf_counter() - wall) * 1e6 / reads,
        )
    engine.dispose()
    return done


async def _run(folder: Path, reads: int, writes: int) -> None:
    path = folder / "bench.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        conn.executemany("INSERT INTO note (body) VALUES (?)", [(f"n{i}",) for i in range(100)])
    url = f"sqlite+aiosqlite:///{path}"
    results = {}
    for name, make in [
        ("aiosqlite adapter", _aiosqlite_engine),
        ("clinicflow (loop)", lambda u: Database(u, engine=make_engine(u))),
    ]:
        db = make(url)
        try:
            results[name] = await _measure(db, reads, writes)
        finally:
            await db.dispose()
    print(f"{'':24s}" + "".join(f"{name:>28s}" for name in results))
    print(f"{'':24s}" + "".join(f"{'cpu us':>14s}{'wall us':>14s}" for _ in results))
    for row in next(iter(results.values())):
        cells = "".join(f"{results[n][row][0]:14.1f}{results[n][row][1]:14.1f}" for n in results)
        print(f"{row:24s}{cells}")
    cpu, wall = _sync_reads(path, reads)
    print(
        "for scale, SQLAlchemy's synchronous pysqlite: "
        f"select by key {cpu:.1f} us cpu, {wall:.1f} us wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clinicflow-bench-sqlite-") as folder:
        asyncio.run(_run(Path(folder), args.reads, args.writes))


if __name__ == "__main__":
    main()
