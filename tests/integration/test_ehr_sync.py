"""The MediRecords sync against a fake MediRecords on loopback: a booking's patient is
created there once and its visit pushed once, a cancellation updates it, a demographic change
reported by MediRecords' webhook reaches the patient's record, and a patient changed on both
sides is listed for staff, never overwritten."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import audit_log
from clinicflow.infra.bus import Envelope
from clinicflow.integrations.subscribers import EhrErasure
from clinicflow.integrations.tables import ehr_links
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem, booking
from support.ehr_servers import BOOKING_SYSTEM, PATIENT_SYSTEM, WEBHOOK_KEY, synced_settings
from support.fake_medirecords import FakeMediRecords

pytestmark = pytest.mark.both_databases
HOOK = "/v1/webhooks/medirecords"
CONFLICTS = "/v1/integrations/ehr/conflicts"
KEY = {"Authorization": f"Bearer {WEBHOOK_KEY}"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, medirecords: FakeMediRecords) -> Settings:
    return synced_settings(database_url, tmp_path, medirecords=medirecords)


@pytest.fixture
def provider_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http  # support/fake_vendor.py's client for the fakes on loopback


async def _booked(client: httpx.AsyncClient, container: Container, **over: Any) -> dict[str, Any]:
    made = await client.post("/v1/bookings", json=booking(**over))
    assert made.status_code == 201, made.text
    await container.bus.run_once()
    return dict(made.json())


def _remote_patient(medirecords: FakeMediRecords, patient_id: str) -> dict[str, Any]:
    found = [
        p
        for p in medirecords.patients.values()
        if {"system": PATIENT_SYSTEM, "value": patient_id} in p.get("identifier", [])
    ]
    assert len(found) == 1, found
    return found[0]


async def test_a_booking_creates_the_patient_and_its_visit_once(
    client: httpx.AsyncClient, container: Container, medirecords: FakeMediRecords
) -> None:
    made = await _booked(client, container)
    patient = _remote_patient(medirecords, made["patient_id"])
    assert patient["name"] == [{"use": "official", "family": "Example", "given": ["Pat1"]}]
    assert {"system": "email", "value": "pat1@example.com"} in patient["telecom"]
    [visit] = medirecords.appointments_for(BOOKING_SYSTEM, made["id"])
    assert visit["status"] == "booked"
    assert visit["start"] == "2026-11-25T16:00:00Z"
    assert visit["participant"][0]["actor"] == {"reference": f"Patient/{patient['id']}"}
    again = await client.post("/v1/bookings", json=booking(start="2026-11-25T11:00:00-06:00"))
    assert again.status_code == 201, again.text
    await container.bus.run_once()
    assert medirecords.patient_creates == 1  # the second visit found the linked patient
    assert medirecords.appointment_creates == 2


async def test_a_cancellation_updates_the_visit_in_medirecords(
    client: httpx.AsyncClient,
    container: Container,
    medirecords: FakeMediRecords,
    front_desk: dict[str, str],
) -> None:
    made = await _booked(client, container)
    cancelled = await client.post(f"/v1/bookings/{made['id']}/cancel", headers=front_desk)
    assert cancelled.status_code == 200, cancelled.text
    await container.bus.run_once()
    [visit] = medirecords.appointments_for(BOOKING_SYSTEM, made["id"])
    assert visit["status"] == "cancelled"
    assert medirecords.appointment_creates == 1


async def test_a_patient_medirecords_already_has_is_matched_not_duplicated(
    client: httpx.AsyncClient, container: Container, medirecords: FakeMediRecords
) -> None:
    theirs = medirecords.add_patient(
        name=[{"use": "official", "family": "Example", "given": ["Pat1"]}],
        telecom=[{"system": "email", "value": "PAT1@example.com"}],
    )
    # A namesake with nothing else in common is not our patient.
    medirecords.add_patient(name=[{"use": "official", "family": "Example", "given": ["Pat1"]}])
    made = await _booked(client, container)
    assert medirecords.patient_creates == 0
    [visit] = medirecords.appointments_for(BOOKING_SYSTEM, made["id"])
    assert visit["participant"][0]["actor"] == {"reference": f"Patient/{theirs}"}


async def test_a_demographic_change_from_the_webhook_updates_the_patient(
    client: httpx.AsyncClient,
    container: Container,
    medirecords: FakeMediRecords,
    front_desk: dict[str, str],
) -> None:
    made = await _booked(client, container)
    remote = _remote_patient(medirecords, made["patient_id"])
    medirecords.edit(
        remote["id"],
        birthDate="1984-02-29",
        telecom=[
            {"system": "phone", "value": "+1 512 555 0199", "use": "mobile"},
            {"system": "email", "value": "pat1@example.com"},
        ],
    )
    body = medirecords.webhook("patient.updated", remote["id"])
    taken = await client.post(HOOK, json=body, headers=KEY)
    assert taken.status_code == 202, taken.text
    assert taken.json() == {"queued": 1}
    retried = await client.post(HOOK, json=body, headers=KEY)  # MediRecords retries
    assert retried.json() == {"queued": 0}
    await container.bus.run_once()
    record = await client.get(f"/v1/patients/{made['patient_id']}", headers=front_desk)
    assert record.status_code == 200, record.text
    assert record.json()["phone"] == "+15125550199"
    assert record.json()["birth_date"] == "1984-02-29"
    assert record.json()["first_name"] == "Pat1"
    # The change was made by the integration, as an audited API client.
    async with container.db.read() as conn:
        query = select(audit_log.c.action).where(
            audit_log.c.actor_id == "integration:medirecords",
            audit_log.c.patient_id == made["patient_id"],
        )
        actions = {r.action for r in await conn.execute(query)}
    assert {"read", "update"} <= actions
    listed = await client.get(CONFLICTS, headers=front_desk)
    assert listed.json() == []


async def test_a_patient_changed_on_both_sides_is_listed_not_overwritten(
    client: httpx.AsyncClient,
    container: Container,
    medirecords: FakeMediRecords,
    front_desk: dict[str, str],
) -> None:
    made = await _booked(client, container)
    patient_id = made["patient_id"]
    remote = _remote_patient(medirecords, patient_id)
    ours = await client.patch(
        f"/v1/patients/{patient_id}", json={"phone": "+15125550111"}, headers=front_desk
    )
    assert ours.status_code == 200, ours.text
    medirecords.edit(
        remote["id"],
        telecom=[
            {"system": "phone", "value": "+15125550122"},
            {"system": "email", "value": "pat1@example.com"},
        ],
    )
    taken = await client.post(
        HOOK, json=medirecords.webhook("patient.updated", remote["id"]), headers=KEY
    )
    assert taken.status_code == 202, taken.text
    await container.bus.run_once()

    record = await client.get(f"/v1/patients/{patient_id}", headers=front_desk)
    assert record.json()["phone"] == "+15125550111"  # ours, untouched
    listed = await client.get(CONFLICTS, headers=front_desk)
    assert listed.status_code == 200, listed.text
    [conflict] = listed.json()
    assert conflict["patient_id"] == patient_id
    assert conflict["remote_id"] == remote["id"]
    assert conflict["kind"] == "edited_both_sides"
    assert conflict["fields"] == ["phone"]
    assert "+1512555" not in listed.text  # names of fields, never their values

    resolved = await client.post(f"{CONFLICTS}/{conflict['id']}/resolve", headers=front_desk)
    assert resolved.status_code == 200, resolved.text
    assert (await client.get(CONFLICTS, headers=front_desk)).json() == []
    # Settled: ours is what was agreed, so MediRecords' next change flows in again.
    medirecords.edit(remote["id"], birthDate="1990-01-01")
    await client.post(HOOK, json=medirecords.webhook("patient.updated", remote["id"]), headers=KEY)
    await container.bus.run_once()
    record = await client.get(f"/v1/patients/{patient_id}", headers=front_desk)
    assert record.json()["birth_date"] == "1990-01-01"
    assert record.json()["phone"] == "+15125550122"


async def test_the_webhook_refuses_a_caller_without_the_key(
    client: httpx.AsyncClient, container: Container, medirecords: FakeMediRecords
) -> None:
    made = await _booked(client, container)
    remote = _remote_patient(medirecords, made["patient_id"])
    body = medirecords.webhook("patient.updated", remote["id"])
    for headers in ({}, {"Authorization": "Bearer not-the-key"}):
        refused = await client.post(HOOK, json=body, headers=headers)
        assert_problem(refused, 403, "ehr_webhook_not_authenticated")
    malformed = await client.post(HOOK, json={"id": "x"}, headers=KEY)
    assert_problem(malformed, 422, "invalid_request")


async def test_only_the_front_desk_and_admins_see_the_conflicts(
    client: httpx.AsyncClient, container: Container, integration: dict[str, str]
) -> None:
    refused = await client.get(CONFLICTS, headers=integration)
    assert_problem(refused, 403, "forbidden")
    anonymous = await client.get(CONFLICTS)
    assert anonymous.status_code == 401


async def test_while_medirecords_is_down_the_visit_waits_and_arrives_later(
    client: httpx.AsyncClient,
    container: Container,
    medirecords: FakeMediRecords,
    clock: FixedClock,
) -> None:
    medirecords.failing = 503
    made = await client.post("/v1/bookings", json=booking())
    assert made.status_code == 201, made.text
    await container.bus.run_once()
    assert medirecords.appointments == {}
    medirecords.failing = None
    clock.advance(timedelta(minutes=30))  # past the bus's back-off
    await container.bus.run_once()
    assert len(medirecords.appointments_for(BOOKING_SYSTEM, made.json()["id"])) == 1


async def test_with_the_visit_push_off_only_the_patient_reaches_medirecords(
    client: httpx.AsyncClient, container: Container, medirecords: FakeMediRecords
) -> None:
    sync = container.integrations.sync
    assert sync is not None
    sync.push_visits = False  # CLINICFLOW_MEDIRECORDS_PUSH_VISITS's default
    made = await _booked(client, container)
    assert _remote_patient(medirecords, made["patient_id"])["name"][0]["family"] == "Example"
    assert medirecords.appointments == {}
    assert not [t for _, t in medirecords.log if t.startswith("/v1/Appointment")]


async def test_two_people_in_medirecords_who_could_be_the_patient_are_listed_not_guessed(
    client: httpx.AsyncClient,
    container: Container,
    medirecords: FakeMediRecords,
    front_desk: dict[str, str],
) -> None:
    for _ in range(2):
        medirecords.add_patient(
            name=[{"use": "official", "family": "Example", "given": ["Pat1"]}],
            telecom=[{"system": "email", "value": "pat1@example.com"}],
        )
    made = await _booked(client, container)
    assert medirecords.patient_creates == 0
    assert medirecords.appointments == {}
    [conflict] = (await client.get(CONFLICTS, headers=front_desk)).json()
    assert conflict["patient_id"] == made["patient_id"]
    assert conflict["kind"] == "ambiguous_match"
    assert sorted(conflict["detail"].split(",")) == sorted(medirecords.patients)


async def test_a_duplicate_here_of_someone_linked_there_is_listed_not_linked_twice(
    client: httpx.AsyncClient,
    container: Container,
    medirecords: FakeMediRecords,
    front_desk: dict[str, str],
) -> None:
    first = await _booked(client, container)
    # The same person again under another email and the same phone: a second record here.
    again = booking(start="2026-11-25T11:00:00-06:00")
    again["patient"] = {**again["patient"], "email": "pat1.other@example.com"}
    second = await client.post("/v1/bookings", json=again)
    assert second.status_code == 201, second.text
    assert second.json()["patient_id"] != first["patient_id"]
    await container.bus.run_once()
    assert medirecords.patient_creates == 1
    [conflict] = (await client.get(CONFLICTS, headers=front_desk)).json()
    assert conflict["patient_id"] == second.json()["patient_id"]
    assert conflict["detail"] == f"linked to {first['patient_id']}"


async def test_a_deidentified_patient_keeps_no_tie_to_medirecords(
    client: httpx.AsyncClient,
    container: Container,
    medirecords: FakeMediRecords,
    clock: FixedClock,
) -> None:
    made = await _booked(client, container)
    patient_id = made["patient_id"]
    remote = _remote_patient(medirecords, patient_id)
    sync = container.integrations.sync
    assert sync is not None
    assert await sync.linked(patient_id) == remote["id"]
    erased = Envelope(
        str(uuid.uuid4()),
        "patient.deidentified",
        1,
        clock.now(),
        "patient",
        patient_id,
        {"patient_id": patient_id},
    )
    await EhrErasure(sync).handle(erased)
    async with container.db.read() as conn:
        left = await conn.execute(select(ehr_links).where(ehr_links.c.patient_id == patient_id))
        assert left.first() is None
    # MediRecords' later webhooks about them change nothing here.
    assert await sync.patient_changed(remote["id"]) is None
