"""Every endpoint that takes an id, called by every kind of caller.

In scope, the call works. Out of scope, it answers 404 (the resource's own scope: another
patient's visit, another practitioner's patient) or 403 (a role that may never do it), never
the contents; either way a signed-in caller leaves a `denied` audit row naming the resource.
Anonymous callers get 401.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import search
from clinicflow.settings import Settings
from support.api import ALT, client_headers, person
from support.app import admin_session, staff_session
from support.clinic_config import shipped

CALLERS = (
    "admin",
    "front_desk",
    "practitioner",  # the booking is on their calendar
    "other_practitioner",
    "billing",
    "analyst",
    "patient",  # the booking's own patient
    "other_patient",
    "client",  # an API client with every booking and patient scope
    "client_without_scopes",
    "anonymous",
)


@dataclass
class Clinic:
    client: httpx.AsyncClient
    container: Container
    headers: dict[str, dict[str, str]]
    actor_ids: dict[str, str]
    patient_id: str
    slots: Iterator[str]

    async def booking(self) -> str:
        """A fresh visit of the patient with doctor1."""
        body = {**ALT, "start": next(self.slots), "practitioner": "doctor1", "patient": person(1)}
        made = await self.client.post("/v1/bookings", json=body)
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    async def patient(self, n: int) -> str:
        body = {**ALT, "start": next(self.slots), "practitioner": "doctor2", "patient": person(n)}
        made = await self.client.post("/v1/bookings", json=body)
        return str(made.json()["patient_id"])


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped clinic, with check-in open two weeks ahead: every caller's visit (days
    apart) may be checked in now, so the matrix sees access decide, not the visit's time."""
    path = tmp_path / "clinic.yaml"
    path.write_text(_check_in_two_weeks_ahead())
    return settings.model_copy(update={"config_path": path})


@functools.cache
def _check_in_two_weeks_ahead() -> str:
    """The `settings` clinic file's text, made once per process (the YAML read and written
    again: ~25 ms of CPU a test)."""
    doc = shipped()
    doc["policy_defaults"]["check_in_opens_min"] = 14 * 24 * 60
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture
async def clinic(client: httpx.AsyncClient, container: Container) -> Clinic:
    params = {**ALT, "practitioner": "doctor1", "start": "2026-11-25", "end": "2026-12-04"}
    found = (await client.get("/v1/availability", params=params)).json()["slots"]
    starts = iter([s["start"] for s in found][::2])  # every other slot: room to reschedule
    first = {**ALT, "start": next(starts), "practitioner": "doctor1", "patient": person(1)}
    patient_id = (await client.post("/v1/bookings", json=first)).json()["patient_id"]
    other = {**ALT, "start": next(starts), "practitioner": "doctor2", "patient": person(2)}
    other_id = (await client.post("/v1/bookings", json=other)).json()["patient_id"]
    headers = {
        "admin": await admin_session(container),
        "front_desk": await staff_session(container, "desk", "front_desk"),
        "practitioner": await staff_session(container, "doc1", "practitioner", "doctor1"),
        "other_practitioner": await staff_session(container, "doc2", "practitioner", "doctor2"),
        "billing": await staff_session(container, "bill", "billing"),
        "analyst": await staff_session(container, "ana", "analyst"),
        "patient": await _patient(container, patient_id),
        "other_patient": await _patient(container, other_id),
        "client": await client_headers(
            container, ["bookings:read", "bookings:write", "patients:read", "patients:write"]
        ),
        "client_without_scopes": await client_headers(container, []),
        "anonymous": {},
    }
    actor_ids = {}
    for name, given in headers.items():
        me = (await client.get("/v1/auth/me", headers=given)).json()
        actor_ids[name] = me["id"]
    return Clinic(client, container, headers, actor_ids, patient_id, starts)


async def _patient(container: Container, patient_id: str) -> dict[str, str]:
    opened = await container.identity.sessions.open_for_patient(patient_id)
    return {"Cookie": f"cf_session={opened.token}"}


OK, NOT_FOUND, FORBIDDEN, ANON = "ok", 404, 403, 401
STAFF_READ = {"admin": OK, "front_desk": OK, "billing": OK}
MINE = {"practitioner": OK, "other_practitioner": NOT_FOUND, "patient": OK, "other_patient": 404}


def expect(ok: set[str], not_found: set[str]) -> dict[str, Any]:
    return {
        c: OK if c in ok else ANON if c == "anonymous" else NOT_FOUND if c in not_found else 403
        for c in CALLERS
    }


BOOKING_READERS = {"admin", "front_desk", "billing", "practitioner", "patient", "client"}
BOOKING_CHANGERS = {"admin", "front_desk", "practitioner", "patient", "client"}
BOOKING_ATTENDERS = {"admin", "front_desk", "practitioner", "client"}
OWNERS_ELSEWHERE = {"other_practitioner", "other_patient"}

BOOKING_ENDPOINTS = {
    "read": ("GET", "", None, expect(BOOKING_READERS, OWNERS_ELSEWHERE)),
    "reschedule": ("POST", "/reschedule", "slot", expect(BOOKING_CHANGERS, OWNERS_ELSEWHERE)),
    "cancel": ("POST", "/cancel", None, expect(BOOKING_CHANGERS, OWNERS_ELSEWHERE)),
    "check-in": ("POST", "/check-in", None, expect(BOOKING_ATTENDERS, {"other_practitioner"})),
    "complete": ("POST", "/complete", None, expect(BOOKING_ATTENDERS, {"other_practitioner"})),
    "no-show": ("POST", "/no-show", None, expect(BOOKING_ATTENDERS, {"other_practitioner"})),
}


@pytest.mark.parametrize("endpoint", list(BOOKING_ENDPOINTS))
async def test_booking_endpoints_answer_each_caller_by_scope(clinic: Clinic, endpoint: str) -> None:
    method, suffix, body_kind, expected = BOOKING_ENDPOINTS[endpoint]
    for caller in CALLERS:
        booking_id = await clinic.booking()
        if endpoint == "complete":  # completing needs a checked-in visit
            await clinic.client.post(
                f"/v1/bookings/{booking_id}/check-in", headers=clinic.headers["admin"]
            )
        body = {"start": next(clinic.slots)} if body_kind == "slot" else None
        resp = await clinic.client.request(
            method, f"/v1/bookings/{booking_id}{suffix}", json=body, headers=clinic.headers[caller]
        )
        await _check(clinic, caller, expected[caller], resp, booking_id, endpoint)


PATIENT_READERS = {"admin", "front_desk", "billing", "practitioner", "patient", "client"}
RECORD_READERS = {"admin", "front_desk", "practitioner", "patient", "client"}
PATIENT_WRITERS = {"admin", "front_desk", "practitioner", "patient", "client"}

PATIENT_ENDPOINTS = {
    "read": ("GET", "", None, expect(PATIENT_READERS, OWNERS_ELSEWHERE)),
    "record": ("GET", "/record", None, expect(RECORD_READERS, OWNERS_ELSEWHERE)),
    "update": ("PATCH", "", {"pronouns": "they/them"}, expect(PATIENT_WRITERS, OWNERS_ELSEWHERE)),
    "merge": ("POST", "/merge", "into", expect({"admin", "front_desk"}, set())),
    "legal-hold": (
        "PUT",
        "/legal-hold",
        {"on": True, "reason": "records request"},
        expect({"admin"}, set()),
    ),
}


@pytest.mark.parametrize("endpoint", list(PATIENT_ENDPOINTS))
async def test_patient_endpoints_answer_each_caller_by_scope(clinic: Clinic, endpoint: str) -> None:
    method, suffix, body, expected = PATIENT_ENDPOINTS[endpoint]
    for n, caller in enumerate(CALLERS, start=10):
        target = clinic.patient_id
        if endpoint == "merge":  # a fresh duplicate each time, merged into the patient
            target = await clinic.patient(n)
            body = {"into": clinic.patient_id}
        resp = await clinic.client.request(
            method, f"/v1/patients/{target}{suffix}", json=body, headers=clinic.headers[caller]
        )
        await _check(clinic, caller, expected[caller], resp, target, endpoint)


async def test_out_of_scope_answers_never_carry_the_resource(clinic: Clinic) -> None:
    booking_id = await clinic.booking()
    for caller in ("other_patient", "other_practitioner", "analyst", "client_without_scopes"):
        for path in (f"/v1/bookings/{booking_id}", f"/v1/patients/{clinic.patient_id}"):
            resp = await clinic.client.get(path, headers=clinic.headers[caller])
            assert resp.status_code in (403, 404)
            assert "pat1@example.com" not in resp.text
            assert "doctor1" not in resp.text


async def test_staff_may_open_another_practitioners_visit_by_break_glass(clinic: Clinic) -> None:
    booking_id = await clinic.booking()
    glass = {**clinic.headers["other_practitioner"], "X-Break-Glass-Reason": "patient called in"}
    opened = await clinic.client.get(f"/v1/bookings/{booking_id}", headers=glass)
    assert opened.status_code == 200
    async with clinic.container.db.read() as conn:
        rows = await search(conn, actor_id=clinic.actor_ids["other_practitioner"])
    (row,) = [r for r in rows if r.resource_id == booking_id]
    assert row.break_glass
    assert row.reason == "patient called in"
    assert row.outcome == "allowed"
    cancel = await clinic.client.post(f"/v1/bookings/{booking_id}/cancel", headers=glass)
    assert cancel.status_code == 404  # break-glass opens records; it does not change them


async def _check(
    clinic: Clinic, caller: str, want: Any, resp: httpx.Response, resource_id: str, what: str
) -> None:
    label = f"{what} by {caller}"
    if want == OK:
        assert resp.status_code < 300 or (what == "no-show" and resp.status_code == 409), (
            f"{label}: {resp.status_code} {resp.text}"
        )
        if resp.status_code == 409:
            assert resp.json()["code"] == "invalid_transition"  # the access check passed
        return
    assert resp.status_code == want, f"{label}: {resp.status_code} {resp.text}"
    assert resp.headers["content-type"].startswith("application/problem+json")
    if want == ANON:
        return
    async with clinic.container.db.read() as conn:
        rows = await search(conn, actor_id=clinic.actor_ids[caller], outcome="denied")
    assert any(r.resource_id == resource_id for r in rows), f"{label}: no denied audit row"
