"""The booking API end to end over a real database: SQLite, and PostgreSQL when reachable for what
rests on the database. Holds: a hold keeps the slot until it is booked, and an expired hold
frees it by itself. The rules themselves are tested in tests/unit/booking/test_booking_*.py, and
every query behind them on both databases in test_booking_repository.py.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.shared.clock import FixedClock
from support.api import ALT, WED_10, assert_problem, booking
from support.booking_api import WED_1015, count_rows


async def test_hold_keeps_the_slot_until_it_is_booked(
    client: httpx.AsyncClient, container: Container
) -> None:
    held = await client.post("/v1/holds", json={**ALT, "start": WED_10, "practitioner": "doctor1"})
    assert held.status_code == 201, held.text
    hold = held.json()
    assert hold["status"] == "held"
    assert hold["hold_expires_at"] == "2026-11-24T09:10:00-06:00"
    assert_problem(await client.post("/v1/bookings", json=booking(n=2)), 409, "slot_unavailable")
    confirmed = await client.post("/v1/bookings", json=booking(hold_id=hold["id"]))
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["id"] == hold["id"]
    assert confirmed.json()["status"] == "confirmed"
    assert await count_rows(container, appointments) == 1


@pytest.mark.both_databases
async def test_expired_hold_frees_the_slot_by_itself(
    client: httpx.AsyncClient, clock: FixedClock, front_desk: dict[str, str]
) -> None:
    hold = (
        await client.post("/v1/holds", json={**ALT, "start": WED_10, "practitioner": "doctor1"})
    ).json()
    clock.advance(timedelta(minutes=11))
    assert (await client.get(f"/v1/bookings/{hold['id']}", headers=front_desk)).json()[
        "status"
    ] == "expired"
    assert_problem(
        await client.post("/v1/bookings", json=booking(hold_id=hold["id"])), 409, "hold_expired"
    )
    params = {**ALT, "start": "2026-11-25", "end": "2026-11-25", "practitioner": "doctor1"}
    starts = {
        s["start"] for s in (await client.get("/v1/availability", params=params)).json()["slots"]
    }
    assert WED_10 in starts
    taken = await client.post("/v1/bookings", json=booking(n=2))
    assert taken.status_code == 201, taken.text
    assert (await client.get(f"/v1/bookings/{hold['id']}", headers=front_desk)).json()[
        "status"
    ] == "expired"


async def test_hold_must_match_the_booking(client: httpx.AsyncClient) -> None:
    hold = (
        await client.post("/v1/holds", json={**ALT, "start": WED_10, "practitioner": "doctor1"})
    ).json()
    body = assert_problem(
        await client.post("/v1/bookings", json=booking(WED_1015, hold_id=hold["id"])),
        409,
        "hold_mismatch",
    )
    assert body["fields"] == ["start"]
