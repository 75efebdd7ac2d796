"""The visit's life cycle at its edges: check-in opens a configured time before the start,
a refused start names the earliest (or latest) allowed one, a goodwill refund on a visit
that was not cancelled keeps no fee and describes no cancellation, and WELCOME15 discounts
only a new patient's initial visit, the quote saying why otherwise. SQLite, and PostgreSQL
when reachable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from clinicflow.bootstrap import Container
from clinicflow.shared.clock import FixedClock
from support.app import staff_session
from support.payments import (
    ALT,
    Clinic,
    PaymentsScene,
    ledger_rows,
    person,
)

WED_10 = "2026-11-25T10:00:00-06:00"  # the clock stands at Tuesday 24 November, 09:00
ALT_FOLLOWUP = {"service": "alternative_medicine", "visit_type": "followup", "duration": 15}


async def _attendant(pay: Container) -> dict[str, str]:
    """An API client that checks visits in (a key: no session to lapse as the clock moves)."""
    _, key = await pay.identity.apikeys.create("front desk tablet", "qa", ["bookings:write"])
    return {"Authorization": f"Bearer {key}"}


def _problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["code"] == code
    return body


# --- check-in and completion ---------------------------------------------------------------


async def test_check_in_is_refused_before_its_window_and_accepted_in_it(
    scene: PaymentsScene,
) -> None:
    desk = await _attendant(scene.pay)
    visit = await scene.clinic.booking(1, start=WED_10)
    url = f"/v1/bookings/{visit['id']}"

    days_ahead = await scene.api.post(f"{url}/check-in", headers=desk)
    scene.clock.set(datetime(2026, 11, 25, 3, 59, tzinfo=UTC))  # 21:59 the evening before, Chicago
    a_minute_early = await scene.api.post(f"{url}/check-in", headers=desk)
    scene.clock.advance(timedelta(minutes=1))  # 22:00: 720 minutes (the default) before the start
    on_time = await scene.api.post(f"{url}/check-in", headers=desk)
    done = await scene.api.post(f"{url}/complete", headers=desk)

    for early in (days_ahead, a_minute_early):
        body = _problem(early, 409, "too_early")
        assert "2026-11-24T22:00:00-06:00" in body["detail"]  # when it opens
        assert "720 minutes" in body["detail"]
    assert on_time.status_code == 200, on_time.text
    assert on_time.json()["status"] == "checked_in"
    assert done.json()["status"] == "completed"


# --- refused starts name the allowed bound -------------------------------------------------


async def test_a_start_too_soon_or_too_far_names_the_earliest_or_latest_allowed(
    api: httpx.AsyncClient,
) -> None:
    body = {**ALT, "practitioner": "doctor1", "patient": person(1)}
    soon = await api.post("/v1/bookings", json=body | {"start": "2026-11-24T10:00:00-06:00"})
    far = await api.post("/v1/bookings", json=body | {"start": "2027-06-01T10:00:00-05:00"})

    too_soon = _problem(soon, 422, "too_little_notice")
    assert "earliest start is 2026-11-24T11:00:00-06:00" in too_soon["detail"]  # 09:00 + 120
    assert "10:00" not in too_soon["detail"]
    too_far = _problem(far, 422, "too_far_ahead")
    assert "latest start is 2027-02-22T09:00:00-06:00" in too_far["detail"]  # + 90 days


# --- goodwill refunds -----------------------------------------------------------------------


async def test_a_goodwill_refund_on_a_visit_not_cancelled_keeps_no_fee(
    scene: PaymentsScene,
) -> None:
    visit = await scene.clinic.booking(1)
    paid = await scene.api.post(
        "/v1/payments",
        json={"booking_ids": [visit["id"]], "method": "in_clinic", "tender": "cash"},
        headers=scene.desk,
    )
    order = paid.json()

    refund = await scene.api.post(
        f"/v1/payments/{order['id']}/refunds",
        json={"booking_id": visit["id"], "amount_cents": 3_000, "reason": "waited an hour"},
        headers=scene.desk,
    )

    assert refund.status_code == 201, refund.text
    made = refund.json()
    assert (made["amount_cents"], made["fee_cents"], made["rule"]) == (3_000, 0, "staff_override")
    assert "waited an hour" in made["reason"]
    assert "cancel" not in made["reason"].replace("not cancelled", "")
    rows = await ledger_rows(scene.pay, order["id"])
    assert [(r.kind, r.amount_cents) for r in rows] == [("charge", 11_900), ("refund", -3_000)]
    booking = await scene.api.get(f"/v1/bookings/{visit['id']}", headers=scene.desk)
    assert booking.json()["status"] == "confirmed"  # still coming; nothing was cancelled


# --- WELCOME15: new patients' initial visits ----------------------------------------------


async def _returning_patient(api: httpx.AsyncClient, pay: Container, clock: FixedClock) -> str:
    """Pat1's first visit (Wednesday 10:00) took place; the clock is then Wednesday 11:00."""
    attendant = await _attendant(pay)
    first = await Clinic(api, pay).booking(1, start=WED_10)
    clock.advance(timedelta(hours=25))
    for step in ("check-in", "complete"):
        done = await api.post(f"/v1/bookings/{first['id']}/{step}", headers=attendant)
        assert done.status_code == 200, done.text
    clock.advance(timedelta(hours=1))
    return str(first["patient_id"])


async def test_welcome15_is_not_given_to_a_returning_patients_follow_up(
    api: httpx.AsyncClient, pay: Container, clock: FixedClock
) -> None:
    patient_id = await _returning_patient(api, pay, clock)
    desk = await staff_session(pay, "desk", "front_desk")  # signed in now, after the visit
    next_week = "2026-12-02T10:00:00-06:00"
    follow_up = await Clinic(api, pay).booking(1, visit=ALT_FOLLOWUP, start=next_week)
    visits = [{"service": "alternative_medicine", "visit_type": "followup"}]

    quoted = await api.post(
        "/v1/quotes",
        json={"visits": visits, "promo_code": "WELCOME15", "patient_id": patient_id},
        headers=desk,
    )
    paid = await api.post(
        "/v1/payments",
        json={
            "booking_ids": [follow_up["id"]],
            "method": "in_clinic",
            "tender": "cash",
            "promo_code": "WELCOME15",
        },
        headers=desk,
    )

    assert quoted.status_code == 200, quoted.text
    body = quoted.json()
    assert (body["discounts"], body["total_cents"], body["promotion_code"]) == ([], 7_900, None)
    (why,) = body["notes"]
    assert "WELCOME15 was not applied" in why
    assert "new patients only" in why
    assert "visited the clinic before" in why
    assert paid.status_code == 201, paid.text
    assert (paid.json()["total_cents"], paid.json()["promo_code"]) == (7_900, None)


async def test_welcome15_discounts_a_new_patients_initial_visit_only(
    scene: PaymentsScene,
) -> None:
    patient_id = (await scene.clinic.booking(1))["patient_id"]  # booked, not yet seen
    visits = [
        {"service": "alternative_medicine", "visit_type": "initial"},
        {"service": "alternative_medicine", "visit_type": "followup"},
    ]

    both = await scene.api.post(
        "/v1/quotes",
        json={"visits": visits, "promo_code": "WELCOME15", "patient_id": patient_id},
        headers=scene.desk,
    )
    follow_up_only = await scene.api.post(
        "/v1/quotes",
        json={"visits": visits[1:], "promo_code": "WELCOME15", "patient_id": patient_id},
        headers=scene.desk,
    )

    body = both.json()
    assert [(d["code"], d["amount_cents"]) for d in body["discounts"]] == [("WELCOME15", 1_785)]
    assert [line["discount_cents"] for line in body["lines"]] == [1_785, 0]
    assert body["notes"] == [
        "code WELCOME15 is for initial visits only: the others are not discounted"
    ]
    alone = follow_up_only.json()
    assert (alone["discounts"], alone["total_cents"]) == ([], 7_900)
    assert alone["notes"] == ["code WELCOME15 was not applied: it is for initial visits only"]
