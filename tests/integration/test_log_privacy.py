"""A served request carrying a patient's name and email leaves neither in any log line —
access log, application log or error log — while the request still does its work."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from clinicflow.bootstrap import Container
from support.app import serving, staff_session
from support.loopback_tls import loopback_tls

FIRST, LAST = "Ximena", "Vandersloot"
EMAIL = "ximena.vandersloot@example.net"
PHONE = "+15125550163"
PHI = (FIRST, LAST, EMAIL, "ximena.vandersloot", "5125550163", "555-0163")


@pytest.fixture
async def served(container: Container, log_stream: io.StringIO) -> AsyncIterator[str]:
    # As `clinicflow serve` runs it: uvicorn routed through our handler, the app writing the
    # access log (uvicorn's own, which prints raw paths and queries, off).
    async with serving(container, log_config=None, access_log=False, log_level="info") as base:
        yield base


async def test_requests_with_a_patients_name_and_email_leave_neither_in_the_logs(
    served: str, container: Container, log_stream: io.StringIO
) -> None:
    desk = await staff_session(container, "desk", "front_desk")
    patient = {"first_name": FIRST, "last_name": LAST, "email": EMAIL, "phone": PHONE}
    booking = {
        "service": "alternative_medicine",
        "visit_type": "initial",
        "duration": 20,
        "start": "2026-11-25T10:00:00-06:00",
        "practitioner": "doctor1",
        "patient": patient,
    }
    async with httpx.AsyncClient(verify=loopback_tls(), base_url=served) as http:
        made = await http.post("/v1/bookings", json=booking)
        assert made.status_code == 201
        found = await http.get("/v1/patients", params={"email": EMAIL}, headers=desk)
        assert found.json()["patients"][0]["last_name"] == LAST
        by_phone = await http.get("/v1/patients", params={"phone": PHONE}, headers=desk)
        assert by_phone.status_code == 200
        bad = await http.post("/v1/patients", json={**patient, "email": f"{FIRST} <{EMAIL}"})
        assert bad.status_code in (401, 422)
        link = await http.post("/v1/auth/patient-link", json={"email": EMAIL})
        assert link.status_code == 202
        taken = await http.post("/v1/bookings", json=booking)  # a 409 carrying the same body
        assert taken.status_code == 409
    text = log_stream.getvalue()
    access = [json.loads(line) for line in text.splitlines() if '"clinicflow.access"' in line]
    answered = [(line["method"], line["route"], line["status"]) for line in access]
    assert ("POST", "/v1/bookings", 201) in answered  # the access log did record the requests
    assert ("GET", "/v1/patients", 200) in answered
    assert ("POST", "/v1/bookings", 409) in answered
    leaked = [value for value in PHI if value.lower() in text.lower()]
    assert not leaked, f"PHI reached the log: {leaked}\n{text}"
