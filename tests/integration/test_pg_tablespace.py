"""The PostgreSQL test databases' tablespace in memory (support/pg_tablespace.py): where the
server runs on this machine the template and its copies live on tmpfs, and each run leaves no
tablespace or directory behind, not even one a reboot emptied."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from support.pg_copies import PG_ADMIN_DSN, pg_url
from support.pg_tablespace import MEMORY, PREFIX, memory_tablespace

pytestmark = pytest.mark.postgres

# Where the suite can give the server a directory: the server on loopback, this process root.
HERE = (urlsplit(PG_ADMIN_DSN).hostname or "") in {"127.0.0.1", "localhost", "::1"}
CAN = HERE and os.geteuid() == 0 and MEMORY.is_dir()


async def _fetch(sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def _tablespaces() -> dict[str, str]:
    rows = asyncio.run(
        _fetch("SELECT spcname, pg_tablespace_location(oid) AS at FROM pg_tablespace")
    )
    return {row["spcname"]: row["at"] for row in rows}


def test_this_workers_template_and_its_copies_live_in_memory(pg_template: str) -> None:
    if not CAN:
        pytest.skip("the server is not on this machine, or this process may not chown")
    copy = f"clinicflow_t_{uuid.uuid4().hex[:12]}"

    async def make_and_look() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{pg_template}"')
            return list(
                await conn.fetch(
                    "SELECT d.datname, t.spcname, pg_tablespace_location(t.oid) AS at"
                    " FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace"
                    " WHERE d.datname = ANY($1::text[])",
                    [pg_template, copy],
                )
            )
        finally:
            await conn.execute(f'DROP DATABASE "{copy}" WITH (FORCE)')
            await conn.close()

    rows = asyncio.run(make_and_look())
    assert {row["datname"] for row in rows} == {pg_template, copy}
    for row in rows:
        assert row["spcname"].startswith(PREFIX)
        assert Path(row["at"]).parent == MEMORY


def test_a_tablespace_is_gone_with_its_directory_once_its_run_ends() -> None:
    with memory_tablespace() as space:
        if space is None:
            assert not CAN, "the server is on this machine and we are root: expected memory"
            pytest.skip("the server is not on this machine, or this process may not chown")
        location = Path(_tablespaces()[space])
        assert location.parent == MEMORY
        assert location.is_dir()
        name = f"clinicflow_ts_{uuid.uuid4().hex[:10]}"
        asyncio.run(_fetch(f'CREATE DATABASE "{name}" TABLESPACE "{space}"'))
        # A table written, read back: the database works from there.
        url = pg_url(name).replace("postgresql+asyncpg://", "postgresql://")

        async def write_and_read() -> int:
            conn = await asyncpg.connect(url)
            try:
                await conn.execute("CREATE TABLE t (n int); INSERT INTO t VALUES (41), (1)")
                return int(await conn.fetchval("SELECT sum(n) FROM t"))
            finally:
                await conn.close()

        assert asyncio.run(write_and_read()) == 42
        asyncio.run(_fetch(f'DROP DATABASE "{name}" WITH (FORCE)'))
    assert space not in _tablespaces()
    assert not location.exists()


def test_a_tablespace_whose_directory_a_reboot_emptied_is_dropped_by_the_next_run() -> None:
    if not CAN:
        pytest.skip("the server is not on this machine, or this process may not chown")
    lost = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    location = MEMORY / f"clinicflow-pg-lost-{lost}"
    location.mkdir()
    owner = Path(asyncio.run(_fetch("SHOW data_directory"))[0][0]).stat()
    os.chown(location, owner.st_uid, owner.st_gid)
    asyncio.run(_fetch(f"CREATE TABLESPACE \"{lost}\" LOCATION '{location}'"))
    shutil.rmtree(location)  # what a reboot does to tmpfs
    with memory_tablespace() as space:
        assert space is not None
        assert lost not in _tablespaces()
    assert space not in _tablespaces()
