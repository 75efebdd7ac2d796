"""Concurrent clients racing for one slot through real HTTP: exactly one wins.

Once with the server in this process (clock fixed), once as two separate server processes
(the real clock), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
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


async def _race(bases: Sequence[str], bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Every body posted at once, each on a connection of its own, to the servers in turn."""
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(verify=loopback_tls(), limits=limits, timeout=60) as http:
        return list(
            await asyncio.gather(
                *(
                    http.post(f"{bases[n % len(bases)]}/v1/bookings", json=b)
                    for n, b in enumerate(bodies)
                )
            )
        )


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
    outcomes = _outcomes(await _race([live_server], bodies))
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
    outcomes = _outcomes(await _race([live_server], bodies))
    assert outcomes == {(201, "created"): 1, (409, "slot_unavailable"): CLIENTS - 1}
    assert await _rows(container.db) == 1


def _next_wednesday_ten() -> str:
    """A slot the real clock allows: a Wednesday 10:00 at least three days ahead."""
    day = datetime.now(CHICAGO).date() + timedelta(days=3)
    while day.weekday() != 2 or day in {date(2026, 11, 25)}:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=CHICAGO).isoformat()


@pytest.fixture
def server_processes(settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    """Two `clinicflow serve` processes on the same database, each with its own port and
    connections; the race's clients take them in turn. Forked from a process that imported
    clinicflow once (support/forked_cli.py), not two interpreters importing the app again
    (uvicorn --workers 2 spawned them: 5.8 s of CPU a run): what races happens after."""
    env = {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": settings.database_url,
        "CLINICFLOW_CONFIG_PATH": str(settings.config_path),
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
    }
    cmd = ["clinicflow", "serve", "--host", "127.0.0.1"]
    with ExitStack() as servers:
        yield [
            servers.enter_context(
                served(cmd, env, "/healthz", log=tmp_path / f"serve{n}.log", stop_within=20)
            )
            for n in range(2)
        ]


async def test_two_server_processes_never_double_book(
    server_processes: list[str], container: Container
) -> None:
    bodies = [_request(n, _next_wednesday_ten()) for n in range(CLIENTS)]
    outcomes = _outcomes(await _race(server_processes, bodies))
    assert outcomes == {(201, "created"): 1, (409, "slot_unavailable"): CLIENTS - 1}
    assert await _rows(container.db) == 1
