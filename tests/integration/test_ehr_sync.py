"""The MediRecords sync against a fake MediRecords on loopback: a booking's patient is
created there once and its visit pushed once, a cancellation updates it, a demographic change
reported by MediRecords' webhook reaches the patient's record, and a patient changed on both
sides is listed for staff, never overwritten."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import audit_log
from clinicflow.infra.bus import Envelope
from clinicflow.integrations.subscribers import EhrErasure
from clinicflow.integrations.tables import ehr_links
from clinicflow.settings import Settings
from support.api import assert_problem, booking
from support.ehr_servers import (
    BOOKING_SYSTEM,
    EHR_CONFLICTS,
    MEDIRECORDS_HOOK,
    EhrScene,
    synced_settings,
)
from support.fake_medirecords import FakeMediRecords

pytestmark = pytest.mark.both_databases


@pytest.fixture
def settings(database_url: str, tmp_path: Path, medirecords: FakeMediRecords) -> Settings:
    return synced_settings(database_url, tmp_path, medirecords=medirecords)


@pytest.fixture
def provider_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http  # support/fake_vendor.py's client for the fakes on loopback


async def test_a_booking_creates_the_patient_and_its_visit_once(ehr: EhrScene) -> None:
    made = await ehr.booked()
    patient = ehr.remote_patient(made["patient_id"])
    assert patient["name"] == [{"use": "official", "family": "Example", "given": ["Pat1"]}]
    assert {"system": "email", "value": "pat1@example.com"} in patient["telecom"]
    [visit] = ehr.medirecords.appointments_for(BOOKING_SYSTEM, made["id"])
    assert visit["status"] == "booked"
    assert visit["start"] == "2026-11-25T16:00:00Z"
    assert visit["participant"][0]["actor"] == {"reference": f"Patient/{patient['id']}"}
    await ehr.booked(start="2026-11-25T11:00:00-06:00")
    assert ehr.medirecords.patient_creates == 1  # the second visit found the linked patient
    assert ehr.medirecords.appointment_creates == 2


async def test_a_cancellation_updates_the_visit_in_medirecords(ehr: EhrScene) -> None:
    made = await ehr.booked()
    cancelled = await ehr.client.post(f"/v1/bookings/{made['id']}/cancel", headers=ehr.desk)
    assert cancelled.status_code == 200, cancelled.text
    await ehr.container.bus.run_once()
    [visit] = ehr.medirecords.appointments_for(BOOKING_SYSTEM, made["id"])
    assert visit["status"] == "cancelled"
    assert ehr.medirecords.appointment_creates == 1


async def test_a_patient_medirecords_already_has_is_matched_not_duplicated(ehr: EhrScene) -> None:
    theirs = ehr.medirecords.add_patient(
        name=[{"use": "official", "family": "Example", "given": ["Pat1"]}],
        telecom=[{"system": "email", "value": "PAT1@example.com"}],
    )
    # A namesake with nothing else in common is not our patient.
    ehr.medirecords.add_patient(name=[{"use": "official", "family": "Example", "given": ["Pat1"]}])
    made = await ehr.booked()
    assert ehr.medirecords.patient_creates == 0
    [visit] = ehr.medirecords.appointments_for(BOOKING_SYSTEM, made["id"])
    assert visit["participant"][0]["actor"] == {"reference": f"Patient/{theirs}"}


async def test_a_demographic_change_from_the_webhook_updates_the_patient(ehr: EhrScene) -> None:
    made = await ehr.booked()
    remote = ehr.remote_patient(made["patient_id"])
    ehr.medirecords.edit(
        remote["id"],
        birthDate="1984-02-29",
        telecom=[
            {"system": "phone", "value": "+1 512 555 0199", "use": "mobile"},
            {"system": "email", "value": "pat1@example.com"},
        ],
    )
    body = ehr.medirecords.webhook("patient.updated", remote["id"])
    taken = await ehr.hook(body)
    assert taken.status_code == 202, taken.text
    assert taken.json() == {"queued": 1}
    retried = await ehr.hook(body)  # MediRecords retries
    assert retried.json() == {"queued": 0}
    await ehr.container.bus.run_once()
    record = await ehr.patient(made["patient_id"])
    assert record["phone"] == "+15125550199"
    assert record["birth_date"] == "1984-02-29"
    assert record["first_name"] == "Pat1"
    # The change was made by the integration, as an audited API client.
    async with ehr.container.db.read() as conn:
        query = select(audit_log.c.action).where(
            audit_log.c.actor_id == "integration:medirecords",
            audit_log.c.patient_id == made["patient_id"],
        )
        actions = {r.action for r in await conn.execute(query)}
    assert {"read", "update"} <= actions
    assert await ehr.conflicts() == []


async def test_a_patient_changed_on_both_sides_is_listed_not_overwritten(ehr: EhrScene) -> None:
    made = await ehr.booked()
    patient_id = made["patient_id"]
    remote = ehr.remote_patient(patient_id)
    ours = await ehr.client.patch(
        f"/v1/patients/{patient_id}", json={"phone": "+15125550111"}, headers=ehr.desk
    )
    assert ours.status_code == 200, ours.text
    ehr.medirecords.edit(
        remote["id"],
        telecom=[
            {"system": "phone", "value": "+15125550122"},
            {"system": "email", "value": "pat1@example.com"},
        ],
    )
    taken = await ehr.hook(ehr.medirecords.webhook("patient.updated", remote["id"]))
    assert taken.status_code == 202, taken.text
    await ehr.container.bus.run_once()

    assert (await ehr.patient(patient_id))["phone"] == "+15125550111"  # ours, untouched
    listed = await ehr.client.get(EHR_CONFLICTS, headers=ehr.desk)
    assert listed.status_code == 200, listed.text
    [conflict] = listed.json()
    assert conflict["patient_id"] == patient_id
    assert conflict["remote_id"] == remote["id"]
    assert conflict["kind"] == "edited_both_sides"
    assert conflict["fields"] == ["phone"]
    assert "+1512555" not in listed.text  # names of fields, never their values

    resolved = await ehr.client.post(f"{EHR_CONFLICTS}/{conflict['id']}/resolve", headers=ehr.desk)
    assert resolved.status_code == 200, resolved.text
    assert await ehr.conflicts() == []
    # Settled: ours is what was agreed, so MediRecords' next change flows in again.
    ehr.medirecords.edit(remote["id"], birthDate="1990-01-01")
    await ehr.hook(ehr.medirecords.webhook("patient.updated", remote["id"]))
    await ehr.container.bus.run_once()
    record = await ehr.patient(patient_id)
    assert record["birth_date"] == "1990-01-01"
    assert record["phone"] == "+15125550122"


async def test_the_webhook_refuses_a_caller_without_the_key(ehr: EhrScene) -> None:
    made = await ehr.booked()
    remote = ehr.remote_patient(made["patient_id"])
    body = ehr.medirecords.webhook("patient.updated", remote["id"])
    for headers in ({}, {"Authorization": "Bearer not-the-key"}):
        refused = await ehr.client.post(MEDIRECORDS_HOOK, json=body, headers=headers)
        assert_problem(refused, 403, "ehr_webhook_not_authenticated")
    assert_problem(await ehr.hook({"id": "x"}), 422, "invalid_request")


async def test_only_the_front_desk_and_admins_see_the_conflicts(
    client: httpx.AsyncClient, container: Container, integration: dict[str, str]
) -> None:
    refused = await client.get(EHR_CONFLICTS, headers=integration)
    assert_problem(refused, 403, "forbidden")
    anonymous = await client.get(EHR_CONFLICTS)
    assert anonymous.status_code == 401


async def test_while_medirecords_is_down_the_visit_waits_and_arrives_later(
    ehr: EhrScene,
) -> None:
    ehr.medirecords.failing = 503
    made = await ehr.booked()
    assert ehr.medirecords.appointments == {}
    ehr.medirecords.failing = None
    ehr.clock.advance(timedelta(minutes=30))  # past the bus's back-off
    await ehr.container.bus.run_once()
    assert len(ehr.medirecords.appointments_for(BOOKING_SYSTEM, made["id"])) == 1


async def test_with_the_visit_push_off_only_the_patient_reaches_medirecords(
    ehr: EhrScene,
) -> None:
    sync = ehr.container.integrations.sync
    assert sync is not None
    sync.push_visits = False  # CLINICFLOW_MEDIRECORDS_PUSH_VISITS's default
    made = await ehr.booked()
    assert ehr.remote_patient(made["patient_id"])["name"][0]["family"] == "Example"
    assert ehr.medirecords.appointments == {}
    assert not [t for _, t in ehr.medirecords.log if t.startswith("/v1/Appointment")]


async def test_two_people_in_medirecords_who_could_be_the_patient_are_listed_not_guessed(
    ehr: EhrScene,
) -> None:
    for _ in range(2):
        ehr.medirecords.add_patient(
            name=[{"use": "official", "family": "Example", "given": ["Pat1"]}],
            telecom=[{"system": "email", "value": "pat1@example.com"}],
        )
    made = await ehr.booked()
    assert ehr.medirecords.patient_creates == 0
    assert ehr.medirecords.appointments == {}
    [conflict] = await ehr.conflicts()
    assert conflict["patient_id"] == made["patient_id"]
    assert conflict["kind"] == "ambiguous_match"
    assert sorted(conflict["detail"].split(",")) == sorted(ehr.medirecords.patients)


async def test_a_duplicate_here_of_someone_linked_there_is_listed_not_linked_twice(
    ehr: EhrScene,
) -> None:
    first = await ehr.booked()
    # The same person again under another email and the same phone: a second record here.
    again = booking(start="2026-11-25T11:00:00-06:00")
    again["patient"] = {**again["patient"], "email": "pat1.other@example.com"}
    second = await ehr.client.post("/v1/bookings", json=again)
    assert second.status_code == 201, second.text
    assert second.json()["patient_id"] != first["patient_id"]
    await ehr.container.bus.run_once()
    assert ehr.medirecords.patient_creates == 1
    [conflict] = await ehr.conflicts()
    assert conflict["patient_id"] == second.json()["patient_id"]
    assert conflict["detail"] == f"linked to {first['patient_id']}"


async def test_a_deidentified_patient_keeps_no_tie_to_medirecords(ehr: EhrScene) -> None:
    made = await ehr.booked()
    patient_id = made["patient_id"]
    remote = ehr.remote_patient(patient_id)
    sync = ehr.container.integrations.sync
    assert sync is not None
    assert await sync.linked(patient_id) == remote["id"]
    erased = Envelope(
        str(uuid.uuid4()),
        "patient.deidentified",
        1,
        ehr.clock.now(),
        "patient",
        patient_id,
        {"patient_id": patient_id},
    )
    await EhrErasure(sync).handle(erased)
    async with ehr.container.db.read() as conn:
        left = await conn.execute(select(ehr_links).where(ehr_links.c.patient_id == patient_id))
        assert left.first() is None
    # MediRecords' later webhooks about them change nothing here.
    assert await sync.patient_changed(remote["id"]) is None
