"""A request never hangs: past its deadline it is answered 503, and when its client goes
its work stops. On PostgreSQL a hold is made to wait for real: the test itself holds the
practitioner-day lock the hold must queue for (booking/domain/locks.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg
import httpx
import pytest

from clinicflow.booking.domain.locks import lock_keys
from clinicflow.bootstrap import build
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.app import serving
from support.loopback_tls import loopback_tls

pytestmark = pytest.mark.postgres

WED_10 = "2026-11-25T10:00:00-06:00"
HOLD = {
    "service": "alternative_medicine",
    "visit_type": "initial",
    "duration": 20,
    "start": WED_10,
    "practitioner": "doctor1",
}


@asynccontextmanager
async def _served(settings: Settings, clock: FixedClock, deadline: float) -> AsyncIterator[str]:
    container = build(
        settings.model_copy(update={"request_deadline_seconds": deadline}), clock=clock
    )
    try:
        async with serving(container) as base:
            yield base
    finally:
        await container.aclose()


@pytest.fixture
async def slot_taken_elsewhere(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another transaction placing a visit in doctor1's Wednesday, until the test ends."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    start = datetime.fromisoformat(WED_10)
    tx = conn.transaction()
    await tx.start()
    for key in lock_keys(["doctor1"], (start, start.replace(minute=25))):
        await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
    yield conn
    await tx.rollback()
    await conn.close()


async def _waiting_on_locks(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    )


async def _holds(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM booking_appointment"))


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_request_past_its_deadline_gets_503_with_retry_after(
    settings: Settings, clock: FixedClock, slot_taken_elsewhere: asyncpg.Connection
) -> None:
    async with (
        _served(settings, clock, deadline=1.0) as base,
        httpx.AsyncClient(verify=loopback_tls(), base_url=base, timeout=30) as http,
    ):
        response = await http.post("/v1/holds", json=HOLD)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        assert response.json()["code"] == "deadline_exceeded"
        assert await _waiting_on_locks(slot_taken_elsewhere) == 0  # its wait was cancelled
        assert await _holds(slot_taken_elsewhere) == 0
        # The server goes on: another practitioner's slot (another lock) is held at once.
        other = HOLD | {"practitioner": "doctor2"}
        assert (await http.post("/v1/holds", json=other)).status_code == 201


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_request_whose_client_disconnects_stops_waiting(
    settings: Settings, clock: FixedClock, slot_taken_elsewhere: asyncpg.Connection
) -> None:
    async with _served(settings, clock, deadline=60) as base:
        host, port = base.removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        request = httpx.Request("POST", f"{base}/v1/holds", json=HOLD)
        head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
        writer.write(f"POST /v1/holds HTTP/1.1\r\n{head}\r\n".encode() + request.content)
        await writer.drain()
        assert await _until(slot_taken_elsewhere, waiting=1)  # queued behind the lock
        writer.close()  # the client gives up, long before the deadline
        assert await _until(slot_taken_elsewhere, waiting=0)  # and so does the server
    assert await _holds(slot_taken_elsewhere) == 0


async def _until(conn: asyncpg.Connection, waiting: int) -> bool:
    """Whether the number of transactions waiting for the lock reaches `waiting` (in 5 s)."""
    for _ in range(500):
        if await _waiting_on_locks(conn) == waiting:
            return True
        await asyncio.sleep(0.01)  # polling PostgreSQL's view, not waiting for the clock
    return False
