"""`--services`: one process serves only some contexts (a seed microservice per deployment)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from clinicflow.bootstrap import build
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock

AVAILABILITY = (
    "/v1/availability?service=alternative_medicine&visit_type=initial&duration=15"
    "&start=2026-11-25&end=2026-11-25"
)


async def test_a_booking_only_process_answers_booking_routes_and_nothing_else(
    settings: Settings, clock: FixedClock
) -> None:
    container = build(settings.model_copy(update={"services": "booking"}), clock=clock)
    try:
        app = create_app(container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            availability = await http.get(AVAILABILITY)
            patients = await http.post("/v1/patients", json={})
            health = await http.get("/healthz")
            paths = set((await http.get("/openapi.json")).json()["paths"])
    finally:
        await container.aclose()
    assert availability.status_code == 200
    assert patients.status_code == 404
    assert health.status_code == 200
    assert "/v1/bookings" in paths
    assert not any(p.startswith("/v1/patients") for p in paths)


def test_an_unknown_service_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown service.*use booking, patients"):
        Settings(services="booking,billing")
