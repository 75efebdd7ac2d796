"""Concurrent clients racing for one slot through real HTTP: exactly one wins.

Once with the server in this process (clock fixed), once as two separate server processes
(the real clock), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from support.loopback_tls import loopback_tls
from support.serving_process import served

# Races and locking: each database serializes writers its own way. Each race opens up to
# ~60 PostgreSQL connections, so one xdist worker runs them all, one at a time
# (tests/support/scheduling.py).
pytestmark = [pytest.mark.both_databases, pytest.mark.xdist_group("serial")]

CLIENTS = 50
CHICAGO = ZoneInfo("America/Chicago")


def _request(n: int, start: str, duration: int = 20) -> dict[str, Any]:
    return {
        "service": "alternative_medicine",
        "visit_type": "initial",
        "duration": duration,
        "start": start,
        "practitioner": "doctor1",
        "patient": {
            "first_name": f"Racer{n}",
            "last_name": "Test",
            "email": f"racer{n}@example.com",
        },
    }


async def _race(base: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(
        verify=loopback_tls(), base_url=base, limits=limits, timeout=60
    ) as http:
        return list(await asyncio.gather(*(http.post("/v1/bookings", json=b) for b in bodies)))


def _outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter(
        (r.status_code, "created" if r.status_code == 201 else r.json().get("code", "?"))
        for r in responses
    )


async def _rows(container_or_db: Any) -> int:
    async with container_or_db.read() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(appointments))).scalar_one()
        )


async def test_fifty_clients_racing_for_one_slot_get_exactly_one_booking(
    live_server: str, container: Container
) -> None:
    bodies = [_request(n, "2026-11-25T10:00:00-06:00") for n in range(CLIENTS)]
    outcomes = _outcomes(await _race(live_server, bodies))
    assert outcomes == {(201, "created"): 1, (409, "slot_unavailable"): CLIENTS - 1}
    assert await _rows(container.db) == 1


async def test_racing_visits_of_different_lengths_that_overlap_leave_one(
    live_server: str, container: Container
) -> None:
    bodies = [
        _request(n, "2026-11-25T10:00:00-06:00", 20)
        if n % 2
        else _request(n, "2026-11-25T10:15:00-06:00", 15)
        for n in range(CLIENTS)
    ]
    outcomes = _outcomes(await _race(live_server, bodies))
    assert outcomes == {(201, "created"): 1, (409, "slot_unavailable"): CLIENTS - 1}
    assert await _rows(container.db) == 1


def _next_wednesday_ten() -> str:
    """A slot the real clock allows: a Wednesday 10:00 at least three days ahead."""
    day = datetime.now(CHICAGO).date() + timedelta(days=3)
    while day.weekday() != 2 or day in {date(2026, 11, 25)}:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=CHICAGO).isoformat()


@pytest.fixture
def server_processes(settings: Settings, tmp_path: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": settings.database_url,
        "CLINICFLOW_CONFIG_PATH": str(settings.config_path),
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
    }
    cmd = [sys.executable, "-m", "uvicorn", "clinicflow.gateway.app:create_app", "--factory",
           "--host", "127.0.0.1", "--workers", "2", "--log-level", "warning"]  # fmt: skip
    with served(cmd, env, "/healthz", seconds=30, stop_within=20) as base:
        yield base


async def test_two_server_processes_never_double_book(
    server_processes: str, container: Container
) -> None:
    bodies = [_request(n, _next_wednesday_ten()) for n in range(CLIENTS)]
    outcomes = _outcomes(await _race(server_processes, bodies))
    assert outcomes == {(201, "created"): 1, (409, "slot_unavailable"): CLIENTS - 1}
    assert await _rows(container.db) == 1
