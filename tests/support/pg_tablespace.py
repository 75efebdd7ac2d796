"""A tablespace in memory (tmpfs) for the suite's PostgreSQL databases, when the server runs here.

Every PostgreSQL test gets its own copy of a migrated template (support/pg_copies.py). A copy
made with `STRATEGY FILE_COPY` writes and fsyncs each of the database's ~700 files, about 300
of them system catalogs. On a virtual disk that costs about 0.17 s of CPU for each copy and
its drop, mostly in the kernel, or about 50 s over a run. In a tablespace on /dev/shm the
fsyncs cost nothing, and a copy and its drop cost about 0.035 s.

PostgreSQL behaves the same in everything a test can observe: transactions, locks,
constraints, plans and statistics. Only a power cut would show a difference, and no test
cuts the power. The suite's crash tests kill clinicflow's processes, never PostgreSQL.

The tablespace is used only when the server's data directory is on this machine (a loopback
address and a data directory this process can see) and this process may give the server's
user a directory of its own. Otherwise, or when PostgreSQL refuses, the databases stay in
the default tablespace and only the time changes. Each test process makes its own
tablespace and drops it at the end. A tablespace left behind whose directory is gone (tmpfs
does not survive a reboot) is dropped by the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from support.pg_copies import PG_ADMIN_DSN, admin_sql

MEMORY = Path("/dev/shm")
PREFIX = "clinicflow_ram_"
_LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}


@contextlib.contextmanager
def memory_tablespace() -> Iterator[str | None]:
    """A new tablespace on tmpfs for this process's test databases, or None where the server
    cannot use one; dropped, with its directory, on exit (its databases must be gone)."""
    made = _create()
    if made is None:
        yield None
        return
    name, location = made
    try:
        yield name
    finally:
        try:
            asyncio.run(admin_sql(f'DROP TABLESPACE "{name}"'))
        except asyncpg.PostgresError as exc:  # a test database left in it: say so, keep it
            warnings.warn(f"test tablespace {name} ({location}) kept: {exc}", stacklevel=1)
        else:
            shutil.rmtree(location, ignore_errors=True)


def _create() -> tuple[str, Path] | None:
    if (urlsplit(PG_ADMIN_DSN).hostname or "") not in _LOOPBACK or not MEMORY.is_dir():
        return None
    data_directory, ours = asyncio.run(_look())
    # The suite's tablespaces whose directory is gone (a reboot emptied tmpfs): no run can be
    # using them. One whose directory is still there may be another run's: left alone.
    lost = [name for name, location in ours if not Path(location).exists()]
    for name in lost:
        with contextlib.suppress(asyncpg.PostgresError):
            asyncio.run(admin_sql(f'DROP TABLESPACE "{name}"'))
    try:
        owner = Path(data_directory).stat()
    except OSError:  # not ours to see: the server is on another machine, or another user's
        return None
    if os.geteuid() not in (0, owner.st_uid):
        return None
    name = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    location = MEMORY / f"clinicflow-pg-{name.removeprefix(PREFIX)}"
    location.mkdir(mode=0o700)
    try:
        os.chown(location, owner.st_uid, owner.st_gid)
        asyncio.run(admin_sql(f"CREATE TABLESPACE \"{name}\" LOCATION '{location}'"))
    except (OSError, asyncpg.PostgresError):
        shutil.rmtree(location, ignore_errors=True)
        return None
    return name, location


async def _look() -> tuple[str, list[tuple[str, str]]]:
    """The server's data directory, and the suite's tablespaces with their directories."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        rows = await conn.fetch(
            "SELECT spcname, pg_tablespace_location(oid) AS location FROM pg_tablespace"
            " WHERE starts_with(spcname, $1)",
            PREFIX,
        )
        data_directory = str(await conn.fetchval("SHOW data_directory"))
        return data_directory, [(row["spcname"], row["location"]) for row in rows]
    finally:
        await conn.close()
