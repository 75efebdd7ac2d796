"""The booking API end to end over a real database: SQLite, and PostgreSQL when reachable for what
rests on the database. Booking a visit: the slot taken, overlaps refused (and what an anonymous
caller learns), bad requests keeping nothing, the idempotency key, the practitioner chosen,
listing, a 404, the patient's details stored encrypted and a returning patient matched. The
rules themselves are tested in tests/unit/booking/test_booking_*.py, and every query behind them
on both databases in test_booking_repository.py.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.infra.outbox import outbox
from clinicflow.shared.clock import FixedClock
from support.api import ALT, WED_10, assert_problem, booking, person
from support.booking_api import WED_1015, count_rows


async def test_booking_is_created_and_takes_the_slot(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    resp = await client.post("/v1/bookings", json=booking())
    assert resp.status_code == 201, resp.text
    made = resp.json()
    assert made["status"] == "confirmed"
    assert made["practitioner"] == "doctor1"
    assert made["start"] == WED_10
    assert made["end"] == "2026-11-25T10:20:00-06:00"
    assert (await client.get(f"/v1/bookings/{made['id']}", headers=front_desk)).json() == made
    params = {**ALT, "start": "2026-11-25", "end": "2026-11-25", "practitioner": "doctor1"}
    starts = {
        s["start"] for s in (await client.get("/v1/availability", params=params)).json()["slots"]
    }
    # 10:00–10:20 plus the 5-minute buffer after: 10:00 and 10:15 are gone, 09:45 is too
    # (09:45–10:05 would run into the visit); 10:30 is free again.
    assert WED_10 not in starts
    assert WED_1015 not in starts
    assert "2026-11-25T09:45:00-06:00" not in starts
    assert "2026-11-25T09:30:00-06:00" in starts
    assert "2026-11-25T10:30:00-06:00" in starts
    assert await count_rows(container, outbox, outbox.c.type == "booking.created") == 1


@pytest.mark.both_databases
async def test_overlapping_visits_of_different_lengths_are_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    assert (await client.post("/v1/bookings", json=booking())).status_code == 201
    later = booking(WED_1015, n=2, duration=15)
    assert_problem(await client.post("/v1/bookings", json=later), 409, "slot_unavailable")
    assert await count_rows(container, appointments) == 1


@pytest.mark.both_databases
async def test_a_patient_cannot_be_in_two_visits_at_once(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/bookings", json=booking())).status_code == 201
    elsewhere = booking(WED_1015, practitioner="doctor2", duration=15)
    assert_problem(await client.post("/v1/bookings", json=elsewhere), 409, "patient_unavailable")


async def test_an_anonymous_overlap_tells_nothing_of_the_other_visit_while_staff_see_the_time(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    assert (await client.post("/v1/bookings", json=booking())).status_code == 201  # 10:00-10:20
    over_its_start = booking("2026-11-25T09:45:00-06:00", practitioner="doctor2", duration=20)
    over_its_end = booking(WED_1015, practitioner="doctor2", duration=15)

    bodies = [
        assert_problem(await client.post("/v1/bookings", json=b), 409, "patient_unavailable")
        for b in (over_its_start, over_its_end)
    ]

    assert bodies[0] == bodies[1]  # the same answer whichever part of the visit collided
    assert "2026" not in bodies[0]["detail"]
    assert ":" not in bodies[0]["detail"]
    staff = await client.post("/v1/bookings", json=over_its_end, headers=front_desk)
    assert WED_1015 in assert_problem(staff, 409, "patient_unavailable")["detail"]


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [
        ({"start": "2026-11-25T07:00:00-06:00"}, 422, "outside_working_hours"),
        ({"start": "2026-11-25T11:50:00-06:00"}, 422, "outside_working_hours"),  # runs into lunch
        ({"start": "2026-11-24T10:00:00-06:00"}, 422, "too_little_notice"),
        ({"start": "2027-06-01T10:00:00-05:00"}, 422, "too_far_ahead"),
        ({"service": "weight_loss", "visit_type": "initial"}, 422, "service_not_bookable"),
        ({"duration": 45}, 422, "duration_not_allowed"),
        ({"start": "2026-11-25T10:00:00"}, 422, "validation_error"),  # no offset
        ({"patient": {"first_name": "A", "last_name": "B"}}, 422, "validation_error"),
        ({"patient": {**person(), "email": "not-an-email"}}, 422, "validation_error"),
        ({"surprise": 1}, 422, "validation_error"),
        ({"hold_id": "00000000-0000-0000-0000-000000000000"}, 404, "hold_not_found"),
    ],
)
async def test_booking_refuses_bad_requests_and_keeps_nothing(
    client: httpx.AsyncClient, container: Container, over: dict[str, Any], status: int, code: str
) -> None:
    assert_problem(await client.post("/v1/bookings", json=booking(**over)), status, code)
    assert await count_rows(container, appointments) == 0
    assert await count_rows(container, outbox) == 0


async def test_validation_errors_never_echo_patient_data(client: httpx.AsyncClient) -> None:
    bad = booking(patient={**person(), "phone": "555-SECRET-NUMBER-1234567"})
    resp = await client.post("/v1/bookings", json=bad)
    body = assert_problem(resp, 422, "validation_error")
    assert "SECRET" not in resp.text
    assert body["errors"][0]["field"] == "patient"


@pytest.mark.both_databases
async def test_same_idempotency_key_and_body_gives_the_same_booking(
    client: httpx.AsyncClient, container: Container
) -> None:
    headers = {"Idempotency-Key": "key-123"}
    first = await client.post("/v1/bookings", json=booking(), headers=headers)
    again = await client.post("/v1/bookings", json=booking(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count_rows(container, appointments) == 1
    other = await client.post(
        "/v1/bookings",
        json=booking(WED_1015, n=2, duration=15, practitioner="doctor2"),
        headers=headers,
    )
    assert_problem(other, 422, "idempotency_key_reused")
    assert await count_rows(container, appointments) == 1


async def test_without_a_practitioner_the_previous_one_is_chosen_again(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    first = (await client.post("/v1/bookings", json=booking(practitioner="nurse"))).json()
    clock.advance(timedelta(days=2))
    again = booking("2026-12-02T10:00:00-06:00")
    del again["practitioner"]
    made = await client.post("/v1/bookings", json=again)
    assert made.status_code == 201, made.text
    assert made.json()["practitioner"] == first["practitioner"] == "nurse"


async def test_without_history_the_least_booked_practitioner_is_chosen(
    client: httpx.AsyncClient,
) -> None:
    for n, who in enumerate(["doctor1", "doctor2", "nurse"], start=10):
        assert (
            await client.post(
                "/v1/bookings", json=booking("2026-11-25T14:00:00-06:00", n=n, practitioner=who)
            )
        ).status_code == 201
    fresh = booking(n=20)
    del fresh["practitioner"]
    made = (await client.post("/v1/bookings", json=fresh)).json()
    assert made["practitioner"] == "nurse2"  # the only one with nothing booked that day


async def test_bookings_are_listed_by_practitioner_and_dates(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    await client.post("/v1/bookings", json=booking())
    await client.post("/v1/bookings", json=booking("2026-11-27T10:00:00-06:00", n=2))
    await client.post("/v1/bookings", json=booking(n=3, practitioner="doctor2"))
    listed = (
        await client.get(
            "/v1/bookings",
            params={"practitioner": "doctor1", "from": "2026-11-25", "to": "2026-11-25"},
            headers=front_desk,
        )
    ).json()
    assert [b["start"] for b in listed["bookings"]] == [WED_10]
    everyone = (
        await client.get(
            "/v1/bookings", params={"from": "2026-11-25", "to": "2026-11-30"}, headers=front_desk
        )
    ).json()
    assert len(everyone["bookings"]) == 3


async def test_unknown_booking_is_a_problem_404(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    assert_problem(
        await client.get("/v1/bookings/nope", headers=front_desk), 404, "booking_not_found"
    )
    assert_problem(
        await client.post("/v1/bookings/nope/cancel", headers=front_desk), 404, "booking_not_found"
    )


@pytest.mark.both_databases
async def test_patient_details_are_stored_encrypted(
    client: httpx.AsyncClient, container: Container
) -> None:
    assert (await client.post("/v1/bookings", json=booking())).status_code == 201
    async with container.db.read() as conn:
        dump = " ".join(
            str(v)
            for row in await conn.execute(text("SELECT * FROM patients_patient"))
            for v in row
        )
    for plaintext in ("Pat1", "pat1@example.com", "5550001"):
        assert plaintext not in dump


@pytest.mark.both_databases
async def test_returning_patient_is_matched_by_email(client: httpx.AsyncClient) -> None:
    first = (await client.post("/v1/bookings", json=booking())).json()
    again = booking(
        "2026-11-27T10:00:00-06:00",
        patient={**person(), "email": "PAT1@Example.com", "phone": None},
    )
    second = (await client.post("/v1/bookings", json=again)).json()
    assert second["patient_id"] == first["patient_id"]
