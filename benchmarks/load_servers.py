"""The servers and the database a load run starts, checks and removes (for http_load.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from load_common import OCCUPYING, ROOT

# --- processes and databases --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


STARTED = "Application startup complete"


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, workers: int, timeout: float = 120
) -> None:
    """Until `url` answers 200 and every worker process has logged its startup: one worker
    up is not the 2 the figures are for."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{_tail(log)}")
        try:
            answered = httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            answered = False
        if answered and log.read_text(errors="replace").count(STARTED) >= workers:
            return
        time.sleep(0.3)
    raise RuntimeError(f"server not ready at {url} after {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def server(
    cmd: Sequence[str], env: Mapping[str, str], ready_url: str, log: Path, workers: int
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process group, stopped (SIGTERM, then SIGKILL) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(cmd),
            env=dict(env),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(ready_url, proc, log, workers)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(dsn))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def db_url(admin_dsn: str, name: str) -> str:
    head, _, _ = _asyncpg_dsn(admin_dsn).rpartition("/")
    return f"{head}/{name}"


@dataclass
class BookingAudit:
    by_status: dict[str, int]
    double_bookings: int
    first_created: datetime | None
    last_created: datetime | None

    @property
    def confirmed(self) -> int:
        return self.by_status.get("confirmed", 0)

    @property
    def span_s(self) -> float:
        if self.first_created is None or self.last_created is None:
            return 0.0
        return (self.last_created - self.first_created).total_seconds()


# Two occupying rows of one practitioner whose blocks (buffers included) overlap.
DOUBLE_BOOKINGS_SQL = """
SELECT count(*) FROM booking_appointment a
JOIN booking_appointment b
  ON a.practitioner = b.practitioner AND a.id < b.id
 AND tstzrange(a.block_start, a.block_end) && tstzrange(b.block_start, b.block_end)
WHERE a.status = ANY($1::text[]) AND b.status = ANY($1::text[])
"""


async def audit_bookings(url: str) -> BookingAudit:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM booking_appointment GROUP BY status"
        )
        doubles = await conn.fetchval(DOUBLE_BOOKINGS_SQL, list(OCCUPYING))
        first, last = await conn.fetchrow(
            "SELECT min(created_at), max(created_at) FROM booking_appointment"
            " WHERE status = 'confirmed'"
        )
    finally:
        await conn.close()
    return BookingAudit({r["status"]: int(r["n"]) for r in rows}, int(doubles), first, last)


def drop_redis_keys(redis_url: str, prefixes: Sequence[str]) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    removed = 0
    try:
        for prefix in prefixes:
            batch: list[bytes] = []
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    removed += int(client.delete(*batch))
                    batch.clear()
            if batch:
                removed += int(client.delete(*batch))
    finally:
        client.close()
    return removed
