"""What a read costs on PostgreSQL through `Database.read` (autocommit: no BEGIN, no
ROLLBACK) beside a read in a transaction, as `Database.read` did before (SQLAlchemy's
autobegin, then the pool's rollback as the connection goes back). Both over one engine and
one temporary database, in alternating rounds, so the machine's speed at the time falls on
both alike.

Each read opens a connection from the pool and runs two statements (a count over
`pg_class` and `SELECT 1`), as a reading unit of work does; 32 tasks at once, as requests
would. Prints reads per second and the client's CPU per read, each round.

    .venv/bin/python benchmarks/postgres_reads.py [--admin-dsn postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import Database

TASKS, READS = 32, 100
COUNT, ONE = text("SELECT count(*) FROM pg_class"), text("SELECT 1")
Reader = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


async def _round(read: Reader) -> tuple[float, float]:
    """Reads per second and client CPU microseconds per read."""

    async def task() -> None:
        for _ in range(READS):
            async with read() as conn:
                await conn.execute(COUNT)
                await conn.execute(ONE)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(task() for _ in range(TASKS)))
    reads = TASKS * READS
    return reads / (time.perf_counter() - wall), (time.process_time() - cpu) * 1e6 / reads


async def _run(admin_dsn: str, rounds: int) -> None:
    name = f"clinicflow_bench_reads_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    db = Database(url)

    @asynccontextmanager
    async def in_a_transaction() -> AsyncIterator[AsyncConnection]:
        async with db.engine.connect() as conn:  # autobegin; the pool rolls it back
            yield conn

    ways: dict[str, Reader] = {
        "in a transaction (before)": in_a_transaction,
        "Database.read (autocommit)": db.read,
    }
    try:
        for read in ways.values():
            await _round(read)  # warm: connections pooled, statements prepared
        print(f"{TASKS} tasks x {READS} reads of two statements, each read its own connection")
        for n in range(1, rounds + 1):
            for way, read in ways.items():
                per_second, cpu = await _round(read)
                print(f"round {n}  {way:28s} {per_second:7.0f} reads/s  {cpu:5.0f} us CPU/read")
    finally:
        await db.dispose()
        await admin.execute(f'DROP DATABASE "{name}"')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_run(args.admin_dsn, args.rounds))


if __name__ == "__main__":
    main()
