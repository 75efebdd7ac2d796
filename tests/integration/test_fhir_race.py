"""200 FHIR clients, each on a fresh connection to a real server on PostgreSQL, `$book` the
same slot: exactly one appointment is booked, every other answer is a 409 OperationOutcome,
none a 5xx. The same for 200 `$hold`s of one slot: one hold. `$book` is POST /v1/bookings'
use case, so the guarantees are the same (docs/architecture.md, "Booking")."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from support.fhir import FHIR
from support.loopback_tls import loopback_tls

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.xdist_group("serial"),
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

CLIENTS = 200
SLOT = "Slot/doctor1.alternative-medicine.initial.20.202611251600"  # Wed 25 Nov 10:00 CST


def _book(n: int) -> dict[str, Any]:
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "Racer", "given": [f"Fhir{n}"]}],
        "telecom": [{"system": "email", "value": f"fhir-racer{n}@example.com"}],
    }
    appointment = {
        "resourceType": "Appointment",
        "status": "proposed",
        "slot": [{"reference": SLOT}],
        "participant": [{"actor": {"reference": "Practitioner/doctor1"}, "status": "needs-action"}],
    }
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "appointment", "resource": appointment},
            {"name": "patient", "resource": patient},
        ],
    }


async def _race(base: str, operation: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    async def one(body: dict[str, Any]) -> httpx.Response:
        # A client of its own: every request opens a new connection.
        async with httpx.AsyncClient(verify=loopback_tls(), base_url=base, timeout=60) as http:
            return await http.post(
                f"{FHIR}/Appointment/${operation}",
                json=body,
                headers={"Content-Type": "application/fhir+json"},
            )

    return list(await asyncio.gather(*(one(b) for b in bodies)))


def _outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    def code(r: httpx.Response) -> str:
        if r.status_code == 201:
            return str(r.json()["status"])
        return str(r.json()["issue"][0]["details"]["coding"][0]["code"])

    return Counter((r.status_code, code(r)) for r in responses)


async def _rows(container: Container, status: str) -> int:
    async with container.db.read() as conn:
        query = select(func.count()).select_from(appointments)
        query = query.where(appointments.c.status == status)
        return int((await conn.execute(query)).scalar_one())


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # 200 writes from one address in a moment, on purpose: the limit is not under test.
    return settings.model_copy(update={"rate_limits_enabled": False})


async def test_two_hundred_fhir_books_of_one_slot_make_exactly_one_booking(
    live_server: str, container: Container
) -> None:
    answers = await _race(live_server, "book", [_book(n) for n in range(CLIENTS)])
    outcomes = _outcomes(answers)
    assert outcomes == {(201, "booked"): 1, (409, "slot_unavailable"): CLIENTS - 1}, outcomes
    assert all(r.headers["content-type"].startswith("application/fhir+json") for r in answers)
    assert await _rows(container, "confirmed") == 1


async def test_two_hundred_fhir_holds_of_one_slot_make_exactly_one_hold(
    live_server: str, container: Container
) -> None:
    hold = _book(0)
    hold["parameter"] = hold["parameter"][:1]
    answers = await _race(live_server, "hold", [hold] * CLIENTS)
    outcomes = _outcomes(answers)
    assert outcomes == {(201, "pending"): 1, (409, "slot_unavailable"): CLIENTS - 1}, outcomes
    assert await _rows(container, "held") == 1
