"""The FHIR R4 API (/fhir/R4) over the booking and patient use cases: every answer is a
valid R4B resource, the CapabilityStatement lists exactly the routes served, `$find` agrees
with GET /v1/availability, `$hold` then `$book` books, cancelling follows the clinic's
policy, patients see only their own records, reads are audited, and every error is an
OperationOutcome.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from clinicflow.bootstrap import Container
from clinicflow.fhir.routers import ROUTERS
from clinicflow.infra.audit import audit_log
from support.api import ALT, booking
from support.fhir import FHIR, assert_outcome, smart_headers, validated

DOCTOR1_WED = {
    "schedule": "Schedule/doctor1.alternative-medicine",
    "start": ["ge2026-11-25", "lt2026-11-26"],
    "appointment-type": "initial",
}


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    assert bundle["resourceType"] == "Bundle"
    validated(bundle)
    return [e["resource"] for e in bundle.get("entry", [])]


async def all_pages(http: httpx.AsyncClient, url: str, **kw: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    resp = await http.get(url, **kw)
    while True:
        assert resp.status_code == 200, resp.text
        bundle = resp.json()
        found += entries(bundle)
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            return found
        resp = await http.get(following[0], headers=kw.get("headers"))


async def test_the_capability_statement_lists_exactly_the_routes_served(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get(f"{FHIR}/metadata")
    assert resp.headers["content-type"].startswith("application/fhir+json")
    statement = resp.json()
    validated(statement)
    assert statement["fhirVersion"] == "4.0.1"
    declared: set[tuple[str, str]] = {("GET", "/metadata")}
    for resource in statement["rest"][0]["resource"]:
        kind = resource["type"]
        for interaction in resource["interaction"]:
            declared.add(
                {
                    "read": ("GET", f"/{kind}/{{id}}"),
                    "search-type": ("GET", f"/{kind}"),
                    "update": ("PUT", f"/{kind}/{{id}}"),
                    "patch": ("PATCH", f"/{kind}/{{id}}"),
                }[interaction["code"]]
            )
        for operation in resource.get("operation", []):
            declared.add(("POST", f"/{kind}/${operation['name']}"))
    served: set[tuple[str, str]] = set()
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            if not route.path.startswith(f"{FHIR}/") or "/.well-known/" in route.path:
                continue
            path = route.path.removeprefix(FHIR)
            path = path.replace("{fhir_id}", "{id}").replace("{booking_id}", "{id}")
            path = path.replace("{patient_id}", "{id}")
            served |= {(m, path) for m in route.methods if m != "HEAD"}
    served.discard(("GET", "/Appointment/$find"))  # $find also answers GET
    assert served == declared
    # Each search parameter declared is one the route reads: a wrong value is refused or
    # narrows the answer, never ignored silently (checked for the dates here).
    assert_outcome(await client.get(f"{FHIR}/Slot", params={"start": "soon"}), 422)


async def test_catalog_resources_validate_and_mark_what_cannot_be_booked(
    client: httpx.AsyncClient,
) -> None:
    practitioners = await all_pages(client, f"{FHIR}/Practitioner", params={"_count": 3})
    assert len(practitioners) >= 8
    assert {"doctor1", "gaps-coach"} <= {p["id"] for p in practitioners}
    doctor = (await client.get(f"{FHIR}/Practitioner/doctor1")).json()
    assert validated(doctor).name[0].family
    services = {s["id"]: s for s in await all_pages(client, f"{FHIR}/HealthcareService")}
    assert services["alternative-medicine"]["active"] is True
    assert services["weight-loss"]["active"] is False  # TBD durations and prices
    assert "TBD" in services["weight-loss"]["availabilityExceptions"]
    assert services["equine-therapy"]["extension"][0]["valueBoolean"] is True  # not launched
    assert "extension" not in services["alternative-medicine"]
    bookable = await all_pages(client, f"{FHIR}/HealthcareService", params={"active": "true"})
    assert "weight-loss" not in {s["id"] for s in bookable}
    schedules = await all_pages(
        client, f"{FHIR}/Schedule", params={"actor": "Practitioner/doctor1"}
    )
    assert {s["id"] for s in schedules} >= {"doctor1.alternative-medicine", "doctor1.weight-loss"}
    one = (await client.get(f"{FHIR}/Schedule/doctor1.alternative-medicine")).json()
    assert validated(one).actor[0].reference == "Practitioner/doctor1"


async def test_slots_are_the_availability_engines_answer_paged_through_bundle_links(
    client: httpx.AsyncClient,
) -> None:
    slots = await all_pages(client, f"{FHIR}/Slot", params={**DOCTOR1_WED, "_count": 7})
    api = (
        await client.get(
            "/v1/availability",
            params={
                **ALT,
                "duration": 15,
                "practitioner": "doctor1",
                "start": "2026-11-25",
                "end": "2026-11-25",
            },
        )
    ).json()
    assert len(slots) == len(api["slots"]) > 7
    assert all(s["status"] == "free" for s in slots)
    first = slots[0]
    assert first["schedule"]["reference"] == "Schedule/doctor1.alternative-medicine"
    read = await client.get(f"{FHIR}/Slot/{first['id']}")
    assert read.status_code == 200
    assert read.json() == first
    busy = await client.get(f"{FHIR}/Slot", params={**DOCTOR1_WED, "status": "busy"})
    assert entries(busy.json()) == []


async def test_find_proposes_what_availability_offers_for_the_same_question(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get(
        f"{FHIR}/Appointment/$find",
        params={
            "start": "2026-11-25",
            "end": "2026-11-26",
            "service-type": "alternative_medicine",
            "visit-type": "initial",
            "duration": "20",
        },
    )
    proposed = entries(resp.json())
    api = (
        await client.get(
            "/v1/availability", params={**ALT, "start": "2026-11-25", "end": "2026-11-25"}
        )
    ).json()
    by_start: dict[str, set[str]] = {}
    for a in proposed:
        assert a["status"] == "proposed"
        who = a["participant"][0]["actor"]["reference"].removeprefix("Practitioner/")
        by_start.setdefault(a["start"], set()).add(who.replace("-", "_"))
    expected = {
        datetime.fromisoformat(s["start"]).astimezone().isoformat(): set(s["practitioners"])
        for s in api["slots"]
    }
    got = {datetime.fromisoformat(k).astimezone().isoformat(): v for k, v in by_start.items()}
    assert got == expected
    assert len(expected) > 10


@pytest.mark.both_databases  # holds, idempotency keys and the overlap refusal
async def test_hold_then_book_books_and_a_second_book_of_the_time_conflicts(
    client: httpx.AsyncClient, container: Container
) -> None:
    found = await client.post(
        f"{FHIR}/Appointment/$find",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "start", "valueDateTime": "2026-11-25T10:00:00-06:00"},
                {"name": "end", "valueDateTime": "2026-11-25T11:00:00-06:00"},
                {"name": "service-type", "valueString": "alternative_medicine"},
                {"name": "practitioner", "valueString": "Practitioner/doctor1"},
            ],
        },
        headers={"Content-Type": "application/fhir+json"},
    )
    first = entries(found.json())[0]
    held = await client.post(
        f"{FHIR}/Appointment/$hold",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "appointment", "resource": first}],
        },
    )
    assert held.status_code == 201, held.text
    assert validated(held.json()).status == "pending"
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "Example", "given": ["Pat"]}],
        "telecom": [{"system": "email", "value": "pat@example.com"}],
    }
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "appointment", "resource": held.json()},
            {"name": "patient", "resource": patient},
        ],
    }
    booked = await client.post(
        f"{FHIR}/Appointment/$book", json=params, headers={"Idempotency-Key": "fhir-1"}
    )
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert validated(appointment).status == "booked"
    assert appointment["id"] == held.json()["id"]
    again = await client.post(
        f"{FHIR}/Appointment/$book", json=params, headers={"Idempotency-Key": "fhir-1"}
    )
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == appointment["id"]
    kim = {**patient, "telecom": [{"system": "email", "value": "kim@example.com"}]}
    other = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "appointment", "resource": first},
            {"name": "patient", "resource": kim},
        ],
    }
    assert_outcome(await client.post(f"{FHIR}/Appointment/$book", json=other), 409, "conflict")


async def test_a_smart_client_reads_and_cancels_appointments_within_its_scopes(
    client: httpx.AsyncClient, container: Container
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    reader = await smart_headers(client, container, "system/Appointment.read")
    read = await client.get(f"{FHIR}/Appointment/{made['id']}", headers=reader)
    assert read.status_code == 200, read.text
    appointment = read.json()
    assert validated(appointment).status == "booked"
    patient_ref = f"Patient/{made['patient_id']}"
    assert patient_ref in {p["actor"]["reference"] for p in appointment["participant"]}
    search = await all_pages(
        client,
        f"{FHIR}/Appointment",
        params={"patient": patient_ref, "date": "2026-11-25", "status": "booked"},
        headers=reader,
    )
    assert [a["id"] for a in search] == [made["id"]]
    elsewhere = await client.get(
        f"{FHIR}/Appointment", params={"practitioner": "Practitioner/nurse"}, headers=reader
    )
    assert entries(elsewhere.json()) == []
    # Reading it is not writing it, nor reading the patient.
    cancel = [{"op": "replace", "path": "/status", "value": "cancelled"}]
    patch_type = {"Content-Type": "application/json-patch+json"}
    refused = await client.patch(
        f"{FHIR}/Appointment/{made['id']}", json=cancel, headers={**reader, **patch_type}
    )
    assert_outcome(refused, 403, "forbidden")
    assert_outcome(await client.get(f"{FHIR}/{patient_ref}", headers=reader), 403)
    writer = await smart_headers(
        client, container, "system/Appointment.read system/Appointment.write"
    )
    done = await client.patch(
        f"{FHIR}/Appointment/{made['id']}", json=cancel, headers={**writer, **patch_type}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "cancelled"
    twice = await client.put(
        f"{FHIR}/Appointment/{made['id']}",
        json={**appointment, "status": "cancelled"},
        headers=writer,
    )
    assert_outcome(twice, 409)


async def test_a_patient_with_their_session_sees_only_their_own_records(
    client: httpx.AsyncClient, container: Container
) -> None:
    mine = (await client.post("/v1/bookings", json=booking())).json()
    theirs = (
        await client.post("/v1/bookings", json=booking("2026-11-25T11:00:00-06:00", n=2))
    ).json()
    opened = await container.identity.sessions.open_for_patient(mine["patient_id"])
    me = {"Cookie": f"cf_session={opened.token}"}
    own = await client.get(f"{FHIR}/Patient/{mine['patient_id']}", headers=me)
    assert own.status_code == 200, own.text
    patient = validated(own.json())
    assert patient.name[0].family == "Example"
    assert_outcome(await client.get(f"{FHIR}/Patient/{theirs['patient_id']}", headers=me), 404)
    listed = await all_pages(client, f"{FHIR}/Appointment", headers=me)
    assert [a["id"] for a in listed] == [mine["id"]]
    asked = await all_pages(
        client, f"{FHIR}/Appointment", params={"patient": theirs["patient_id"]}, headers=me
    )
    assert asked == []
    assert_outcome(await client.get(f"{FHIR}/Appointment/{theirs['id']}", headers=me), 404)
    records = await all_pages(client, f"{FHIR}/Patient", headers=me)
    assert [p["id"] for p in records] == [mine["patient_id"]]


async def test_every_fhir_read_of_patient_data_leaves_an_audit_row(
    client: httpx.AsyncClient, container: Container
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    headers = await smart_headers(client, container, "system/Appointment.read system/Patient.read")

    async def rows() -> int:
        async with container.db.read() as conn:
            query = select(func.count()).select_from(audit_log)
            return int((await conn.execute(query)).scalar_one())

    before = await rows()
    assert (await client.get(f"{FHIR}/Patient/{made['patient_id']}", headers=headers)).is_success
    after_patient = await rows()
    assert after_patient > before
    assert (await client.get(f"{FHIR}/Appointment/{made['id']}", headers=headers)).is_success
    assert await rows() > after_patient


@pytest.mark.parametrize(
    ("method", "path", "status", "issue"),
    [
        ("GET", "/Appointment/no-such-visit", 401, "login"),  # anonymous: sign in
        ("GET", "/Practitioner/nobody", 404, "not-found"),
        ("GET", "/Slot/not.a.slot", 404, "not-found"),
        ("GET", "/Nonsense", 404, "not-found"),
        ("DELETE", "/Practitioner/doctor1", 405, "not-supported"),
        ("GET", "/Slot?_count=-1", 422, "processing"),
        # "²" is a digit to str.isdigit() but not to int(): it answered 500 (the fuzz test)
        ("GET", "/Practitioner?_count=%C2%B2", 422, "processing"),
        ("GET", "/Slot?_count=1%C2%B3", 422, "processing"),
        ("GET", "/Appointment/$find", 422, "processing"),
    ],
)
async def test_errors_are_operation_outcomes(
    client: httpx.AsyncClient, method: str, path: str, status: int, issue: str
) -> None:
    assert_outcome(await client.request(method, f"{FHIR}{path}"), status, issue)


async def test_malformed_bodies_and_bad_tokens_are_operation_outcomes(
    client: httpx.AsyncClient,
) -> None:
    bad_json = await client.post(
        f"{FHIR}/Appointment/$hold",
        content=b"{not json",
        headers={"Content-Type": "application/fhir+json"},
    )
    assert_outcome(bad_json, 400, "invalid")
    wrong_type = await client.post(
        f"{FHIR}/Appointment/$hold", content=b"<x/>", headers={"Content-Type": "text/xml"}
    )
    assert_outcome(wrong_type, 415, "not-supported")
    unknown = await client.get(f"{FHIR}/Slot", headers={"Authorization": "Bearer cfsm_not-a-token"})
    assert_outcome(unknown, 401, "login")
