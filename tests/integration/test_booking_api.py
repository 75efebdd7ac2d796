"""The booking API end to end over a real database: SQLite, and PostgreSQL when reachable
for what rests on the database (its constraints, idempotency keys, the stored event, lapsed
holds). The rules themselves are tested in tests/unit/booking/test_booking_*.py (booking,
holds, idempotency, races, reschedules, the life cycle, reads), and every query behind them on
both databases in test_booking_repository.py.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.infra.outbox import outbox
from clinicflow.shared.clock import FixedClock
from support.api import ALT, WED_10, assert_problem, booking, person

WED_1015 = "2026-11-25T10:15:00-06:00"


async def count_rows(container: Container, table: Any, *where: Any) -> int:
    async with container.db.read() as conn:
        query = select(func.count()).select_from(table).where(*where)
        return int((await conn.execute(query)).scalar_one())


async def test_services_list_weight_loss_as_not_bookable_with_reasons(
    client: httpx.AsyncClient,
) -> None:
    services = {s["key"]: s for s in (await client.get("/v1/services")).json()}
    assert services["alternative_medicine"]["bookable"] is True
    initial = next(
        v for v in services["alternative_medicine"]["visit_types"] if v["key"] == "initial"
    )
    assert initial["durations"] == [15, 20]
    weight_loss = services["weight_loss"]
    assert weight_loss["bookable"] is False
    assert any("TBD" in reason for reason in weight_loss["reasons"])
    assert services["counseling"]["active"] is False
    assert services["counseling"]["bookable"] is False


async def test_practitioners_cover_eight_or_more_calendars(client: httpx.AsyncClient) -> None:
    found = (await client.get("/v1/practitioners")).json()
    assert len(found) >= 8
    doctor1 = next(p for p in found if p["key"] == "doctor1")
    assert {"alternative_medicine", "weight_loss"} <= set(doctor1["services"])


async def test_availability_lists_local_slots_with_who_can_take_them(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get(
        "/v1/availability", params={**ALT, "start": "2026-11-25", "end": "2026-11-25"}
    )
    assert resp.status_code == 200, resp.text
    slots = resp.json()["slots"]
    starts = [s["start"] for s in slots]
    assert starts[0] == "2026-11-25T08:00:00-06:00"  # the nurse starts at 08:00
    assert all(s.endswith("-06:00") for s in starts)
    ten = next(s for s in slots if s["start"] == WED_10)
    assert set(ten["practitioners"]) == {"doctor1", "doctor2", "nurse", "nurse2"}
    assert ten["end"] == "2026-11-25T10:20:00-06:00"


async def test_availability_for_one_practitioner_only_lists_them(client: httpx.AsyncClient) -> None:
    params = {**ALT, "start": "2026-11-25", "end": "2026-11-25", "practitioner": "doctor1"}
    slots = (await client.get("/v1/availability", params=params)).json()["slots"]
    assert slots
    assert all(s["practitioners"] == ["doctor1"] for s in slots)
    assert slots[0]["start"] == "2026-11-25T08:30:00-06:00"


async def test_availability_respects_minimum_notice(client: httpx.AsyncClient) -> None:
    params = {**ALT, "start": "2026-11-24", "end": "2026-11-24"}
    slots = (await client.get("/v1/availability", params=params)).json()["slots"]
    assert slots[0]["start"] == "2026-11-24T11:00:00-06:00"  # now 09:00 + 120 min notice


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        (
            {"service": "weight_loss", "visit_type": "initial", "duration": 30},
            422,
            "service_not_bookable",
        ),
        ({**ALT, "duration": 30}, 422, "duration_not_allowed"),
        ({**ALT, "service": "acupuncture"}, 422, "unknown_service"),
        ({**ALT, "visit_type": "annual"}, 422, "unknown_visit_type"),
        ({**ALT, "practitioner": "gaps_coach"}, 422, "practitioner_not_eligible"),
        ({**ALT, "practitioner": "nobody"}, 422, "unknown_practitioner"),
        ({**ALT, "start": "2026-11-25", "end": "2027-06-01"}, 422, "range_too_long"),
        ({**ALT, "start": "2026-11-26", "end": "2026-11-25"}, 422, "invalid_range"),
        ({**ALT, "duration": "twenty"}, 422, "validation_error"),
    ],
)
async def test_availability_refuses_bad_requests_saying_what_to_change(
    client: httpx.AsyncClient, params: dict[str, Any], status: int, code: str
) -> None:
    assert_problem(await client.get("/v1/availability", params=params), status, code)


async def test_validation_error_names_the_field(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.get("/v1/availability", params={**ALT, "duration": "x"}),
        422,
        "validation_error",
    )
    assert body["errors"][0]["field"] == "duration"


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


async def test_visit_goes_through_check_in_and_completion(
    client: httpx.AsyncClient,
    container: Container,
    integration: dict[str, str],
    clock: FixedClock,
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    assert made["actions"] == ["reschedule", "cancel", "check-in", "no-show"]
    clock.advance(timedelta(hours=24))  # the visit's morning: check-in is open (an API key,
    # not a session that would have lapsed meanwhile)
    checked = await client.post(f"/v1/bookings/{made['id']}/check-in", headers=integration)
    assert checked.json()["status"] == "checked_in"
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/cancel", headers=integration),
        409,
        "invalid_transition",
    )
    done = await client.post(f"/v1/bookings/{made['id']}/complete", headers=integration)
    assert done.json()["status"] == "completed"
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/check-in", headers=integration),
        409,
        "invalid_transition",
    )
    kinds = await _event_types(container)
    assert kinds == ["booking.created", "booking.checked_in", "booking.completed"]


async def test_completing_an_unchecked_visit_is_an_invalid_transition(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/complete", headers=front_desk),
        409,
        "invalid_transition",
    )


async def test_no_show_only_after_the_visit_has_started(
    client: httpx.AsyncClient, clock: FixedClock, integration: dict[str, str]
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/no-show", headers=integration),
        409,
        "invalid_transition",
    )
    clock.advance(timedelta(days=1, hours=2))
    marked = await client.post(f"/v1/bookings/{made['id']}/no-show", headers=integration)
    assert marked.status_code == 200
    assert marked.json()["status"] == "no_show"


async def test_cancelling_frees_the_slot(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    cancelled = await client.post(
        f"/v1/bookings/{made['id']}/cancel",
        json={"reason": "feeling better"},
        headers=front_desk,
    )
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "feeling better"
    assert (await client.post("/v1/bookings", json=booking(n=2))).status_code == 201
    assert_problem(
        await client.post(f"/v1/bookings/{made['id']}/cancel", headers=front_desk),
        409,
        "invalid_transition",
    )
    assert "booking.cancelled" in await _event_types(container)


@pytest.mark.both_databases
async def test_rescheduling_moves_the_visit_and_frees_the_old_slot(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    moved = await client.post(
        f"/v1/bookings/{made['id']}/reschedule",
        json={"start": "2026-11-25T14:00:00-06:00"},
        headers=front_desk,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == "2026-11-25T14:00:00-06:00"
    assert moved.json()["practitioner"] == "doctor1"
    assert (await client.post("/v1/bookings", json=booking(n=2))).status_code == 201
    async with container.db.read() as conn:
        payload = (
            await conn.execute(
                select(outbox.c.payload).where(outbox.c.type == "booking.rescheduled")
            )
        ).scalar_one()
    assert payload["previous"]["start"] == "2026-11-25T16:00:00+00:00"


async def test_rescheduling_onto_a_taken_slot_or_a_cancelled_visit_is_refused(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    first = (await client.post("/v1/bookings", json=booking())).json()
    second = (
        await client.post("/v1/bookings", json=booking("2026-11-25T14:00:00-06:00", n=2))
    ).json()
    taken = await client.post(
        f"/v1/bookings/{second['id']}/reschedule", json={"start": WED_1015}, headers=front_desk
    )
    assert_problem(taken, 409, "slot_unavailable")
    await client.post(f"/v1/bookings/{first['id']}/cancel", headers=front_desk)
    assert_problem(
        await client.post(
            f"/v1/bookings/{first['id']}/reschedule", json={"start": WED_1015}, headers=front_desk
        ),
        409,
        "invalid_transition",
    )


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


async def test_openapi_describes_the_booking_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in [
        "/v1/services",
        "/v1/practitioners",
        "/v1/availability",
        "/v1/holds",
        "/v1/bookings",
        "/v1/bookings/{booking_id}",
        "/v1/bookings/{booking_id}/reschedule",
        "/v1/bookings/{booking_id}/cancel",
        "/v1/bookings/{booking_id}/check-in",
        "/v1/bookings/{booking_id}/complete",
        "/v1/bookings/{booking_id}/no-show",
    ]:
        assert path in paths
    # The reference page loads nothing from a CDN (test_openapi_document.py checks it all).
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "://" not in page.text


async def _event_types(container: Container) -> list[str]:
    async with container.db.read() as conn:
        return list((await conn.execute(select(outbox.c.type).order_by(outbox.c.id))).scalars())
