"""Rotate → reseal → retire the key ring while bookings and patient reads keep coming, against
`clinicflow serve --workers 2` on PostgreSQL: no request fails, and no process restarts.

Each server process follows the key file (`LiveKeyRing`): it seals under the new key once the
file says so, and opens values another process sealed under a key it has not loaded yet.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.crypto import load
from clinicflow.infra.rekey import count_by_key, count_unbound
from clinicflow.patients.records.repository import PatientCipher
from clinicflow.patients.tables import patients
from clinicflow.sealed import SEALED
from clinicflow.settings import Settings
from support import forked_cli
from support.loopback_tls import loopback_tls
from support.serving_process import served

CLIENTS = 8
READS_PER_BOOKING = 3
AFTER_RETIRE = 40  # bookings still made once the old key is gone


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": settings.database_url,
        "CLINICFLOW_CONFIG_PATH": str(settings.config_path),
        "CLINICFLOW_KEYS_FILE": str(settings.resolved_keys_file),
        "CLINICFLOW_DATA_DIR": str(tmp_path),
        # This test is about keys, not budgets: no 429 may count as a failure.
        "CLINICFLOW_RATE_LIMITS_ENABLED": "false",
    }


@pytest.fixture
def server(settings: Settings, container: Container, tmp_path: Path) -> Iterator[str]:
    # Forked from a process that imported clinicflow once (support/serving_process.py); the
    # two workers are new interpreters, started by uvicorn as in production.
    cmd = ["clinicflow", "serve", "--workers", "2"]
    with served(
        cmd, _env(settings, tmp_path), "/healthz", log=tmp_path / "serve.log", seconds=90
    ) as base:
        yield base


@dataclass
class Load:
    base: str
    headers: dict[str, str]
    slots: list[tuple[str, str]]  # (start, practitioner), none overlapping another
    made: list[tuple[str, str]] = field(default_factory=list)  # (patient id, first name)
    failures: list[str] = field(default_factory=list)
    reads: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        fresh = httpx.Limits(max_keepalive_connections=0)  # each request its own connection
        self.http = httpx.AsyncClient(
            verify=loopback_tls(), base_url=self.base, timeout=30, limits=fresh
        )

    async def client(self, n: int) -> None:
        while not self.stop.is_set() and self.slots:
            start, practitioner = self.slots.pop()
            name = f"Load{n}x{len(self.made)}"
            patient_id = await self._book(start, practitioner, name)
            if patient_id is None:
                continue
            self.made.append((patient_id, name))
            # Read this patient and earlier ones: values sealed by either process, under
            # either key.
            for offset in range(READS_PER_BOOKING):
                await self._read(*self.made[-1 - (offset * 7) % len(self.made)])

    async def _book(self, start: str, practitioner: str, name: str) -> str | None:
        body = {
            "service": "alternative_medicine",
            "visit_type": "initial",
            "duration": 15,
            "start": start,
            "practitioner": practitioner,
            "patient": {"first_name": name, "last_name": "Load", "email": f"{name}@example.com"},
        }
        answer = await self._send("POST", "/v1/bookings", body)
        if answer is None or answer.status_code != 201:
            self._fail("book", answer)
            return None
        return str(answer.json()["patient_id"])

    async def _read(self, patient_id: str, name: str) -> None:
        answer = await self._send("GET", f"/v1/patients/{patient_id}", None)
        self.reads += 1
        if answer is None or answer.status_code != 200 or answer.json()["first_name"] != name:
            self._fail("read", answer)

    async def _send(self, method: str, path: str, body: Any) -> httpx.Response | None:
        # A fresh connection for every request, as separate clients would open: no connection
        # is kept alive. (One client: a new one costs ~20 ms of CPU, its TLS context alone.)
        try:
            return await self.http.request(method, path, json=body, headers=self.headers)
        except httpx.TransportError as exc:
            self.failures.append(f"{method} {path}: {type(exc).__name__}")
            return None

    def _fail(self, what: str, answer: httpx.Response | None) -> None:
        if answer is not None:
            self.failures.append(f"{what}: {answer.status_code} {answer.text[:200]}")


async def _open_slots(base: str) -> list[tuple[str, str]]:
    """Bookable (start, practitioner) pairs over the next weeks, none overlapping another."""
    found: list[tuple[str, str]] = []
    taken: dict[str, datetime] = {}
    day = datetime.now(UTC).date() + timedelta(days=3)
    async with httpx.AsyncClient(verify=loopback_tls(), base_url=base, timeout=60) as http:
        for week in range(8):
            lo = day + timedelta(days=7 * week)
            params = {
                "service": "alternative_medicine",
                "visit_type": "initial",
                "duration": 15,
                "start": lo.isoformat(),
                "end": (lo + timedelta(days=6)).isoformat(),
            }
            answer = await http.get("/v1/availability", params=params)
            assert answer.status_code == 200, answer.text
            for slot in answer.json()["slots"]:
                start = datetime.fromisoformat(slot["start"])
                for who in slot["practitioners"]:
                    # An hour apart: visit buffers never make two of them collide.
                    if who not in taken or start >= taken[who] + timedelta(hours=1):
                        taken[who] = start
                        found.append((slot["start"], who))
    return found[::-1]  # popped from the end: the earliest first


def _cli(env: dict[str, str], *args: str) -> str:
    # `clinicflow keys ...` as a process of its own, forked from one that imported clinicflow
    # once (support/forked_cli.py): the load runs until the three are done, so each import
    # saved shortens the whole test.
    done = forked_cli.run(args, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.xdist_group("serial")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_rotate_reseal_retire_under_booking_load_fails_no_request(
    server: str, container: Container, settings: Settings, tmp_path: Path
) -> None:
    _, api_key = await container.identity.apikeys.create(
        "load", "qa", ["bookings:read", "bookings:write", "patients:read"]
    )
    load_ = Load(server, {"X-API-Key": api_key}, await _open_slots(server))
    old = load(settings.resolved_keys_file)
    env = _env(settings, tmp_path)

    async def rotate_reseal_retire() -> None:
        # Polling the load's progress, not waiting for the clock: until some data is sealed.
        while len(load_.made) < 20:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        for args in (("keys", "rotate"), ("keys", "reseal"), ("keys", "retire", old.active)):
            await asyncio.to_thread(_cli, env, *args)
        after = len(load_.made)
        # The load goes on under the new key alone.
        while len(load_.made) < after + AFTER_RETIRE and load_.slots:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        load_.stop.set()

    async with load_.http:
        await asyncio.gather(rotate_reseal_retire(), *(load_.client(n) for n in range(CLIENTS)))

    assert load_.failures[:5] == []
    ring = load(settings.resolved_keys_file)
    assert old.active not in ring.keys
    assert len(load_.made) >= 20 + AFTER_RETIRE
    assert load_.reads == READS_PER_BOOKING * len(load_.made)
    assert await count_by_key(container.db, SEALED) == {
        ring.active: sum((await count_by_key(container.db, SEALED)).values())
    }
    assert await count_unbound(container.db, SEALED) == 0
    async with container.db.read() as conn:
        rows = (await conn.execute(select(patients))).all()
    names = {pid: name for pid, name in load_.made}
    opened = {r.id: PatientCipher(ring).patient(r).first_name for r in rows}
    assert {pid: opened[pid] for pid in names} == names
