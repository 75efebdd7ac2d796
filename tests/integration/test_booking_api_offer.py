"""The booking API end to end over a real database: SQLite, and PostgreSQL when reachable for what
rests on the database. What the API offers before anything is booked: the services (weight loss
listed as not bookable), the open slots and who can take them, refusals of bad questions, and
its OpenAPI description. The rules themselves are tested in
tests/unit/booking/test_booking_*.py, and every query behind them on both databases in
test_booking_repository.py.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support.api import ALT, WED_10, assert_problem


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
