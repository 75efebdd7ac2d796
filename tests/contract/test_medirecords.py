"""The MediRecords adapter against a fake MediRecords FHIR API on loopback (and the HubSpot
adapter against a fake HubSpot): idempotent writes, the search MediRecords allows, its
webhooks read and checked, and the retries and circuit breaker around every call."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from tenacity import wait_none

from clinicflow.adapters._resilience import RetryPolicy
from clinicflow.adapters.crm.hubspot import HubSpotContacts
from clinicflow.adapters.ehr.medirecords import (
    MediRecordsClient,
    MediRecordsEhr,
    MediRecordsRefused,
)
from clinicflow.adapters.ehr.medirecords_webhooks import MediRecordsNotices
from clinicflow.integrations.domain.crm import CrmContact
from clinicflow.integrations.domain.ehr import Demographics
from clinicflow.integrations.errors import EhrNoticeRefused
from clinicflow.integrations.ports import (
    CrmCircuitOpen,
    CrmUnavailable,
    EhrCircuitOpen,
    EhrUnavailable,
    SyncedVisit,
)
from support.ehr_servers import BOOKING_SYSTEM, PATIENT_SYSTEM, WEBHOOK_KEY
from support.fake_hubspot import TOKEN as HUBSPOT_TOKEN
from support.fake_hubspot import FakeHubSpot
from support.fake_medirecords import TOKEN, FakeMediRecords

NO_WAIT = RetryPolicy(attempts=2, wait=wait_none())
PAT = Demographics("Pat", "Example", date(1984, 2, 29), "female", "pat@example.com", "+15125550001")
START = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
VISIT = SyncedVisit(
    "b-1", "acupuncture", "initial", "doctor1", START, START + timedelta(minutes=30), "p-1"
)


async def _no_sleep(_: float) -> None:
    return None


def _ehr(http: httpx.AsyncClient, fake: FakeMediRecords, token: str = TOKEN) -> MediRecordsEhr:
    client = MediRecordsClient(http, fake.api_url, token, sleep=_no_sleep)
    return MediRecordsEhr(
        client,
        patient_system=PATIENT_SYSTEM,
        booking_system=BOOKING_SYSTEM,
        threshold=3,
        policy=NO_WAIT,
    )


async def test_creating_the_same_patient_twice_makes_one(
    http: httpx.AsyncClient, medirecords: FakeMediRecords
) -> None:
    ehr = _ehr(http, medirecords)
    first = await ehr.create_patient(PAT, "p-1")
    second = await ehr.create_patient(PAT, "p-1")
    assert first.id == second.id
    assert medirecords.patient_creates == 1
    assert first.demographics == PAT
    assert (PATIENT_SYSTEM, "p-1") in first.identifiers
    read = await ehr.read_patient(first.id)
    assert read is not None
    assert read.version == "1"
    assert await ehr.read_patient("no-such-patient") is None


async def test_the_search_asks_by_identifier_only_with_what_medirecords_requires(
    http: httpx.AsyncClient, medirecords: FakeMediRecords
) -> None:
    ehr = _ehr(http, medirecords)
    made = await ehr.create_patient(PAT, "p-1")
    found = await ehr.search_patients(PAT, "p-1")
    assert {p.id for p in found} == {made.id}
    by_identifier = [t for _, t in medirecords.log if "identifier=" in t]
    assert by_identifier
    assert all("birthdate=1984-02-29" in t for t in by_identifier)
    # Without a birth date, no identifier search (MediRecords would refuse it), by name only.
    medirecords.log.clear()
    await ehr.search_patients(Demographics("Pat", "Example", None, None, None, None), "p-1")
    assert [t for _, t in medirecords.log if "identifier=" in t] == []
    # The refusal itself proves MediRecords is up: not retried, not counted.
    with pytest.raises(MediRecordsRefused):
        await ehr.client.call("GET", "/Patient", params={"identifier": f"{PATIENT_SYSTEM}|p-1"})
    assert await ehr.state() == "closed"


async def test_a_visit_pushed_twice_is_one_appointment_and_cancelling_is_idempotent(
    http: httpx.AsyncClient, medirecords: FakeMediRecords
) -> None:
    ehr = _ehr(http, medirecords)
    patient = await ehr.create_patient(PAT, "p-1")
    await ehr.upsert_appointment(VISIT, patient.id)
    moved = replace(
        VISIT, start=VISIT.start + timedelta(hours=2), end=VISIT.end + timedelta(hours=2)
    )
    await ehr.upsert_appointment(moved, patient.id)
    [visit] = medirecords.appointments_for(BOOKING_SYSTEM, "b-1")
    assert visit["start"] == "2026-11-25T18:00:00Z"
    assert visit["minutesDuration"] == 30
    assert medirecords.appointment_creates == 1
    await ehr.cancel_appointment("b-1")
    await ehr.cancel_appointment("b-1")
    await ehr.cancel_appointment("never-pushed")
    [visit] = medirecords.appointments_for(BOOKING_SYSTEM, "b-1")
    assert visit["status"] == "cancelled"
    assert visit["meta"]["versionId"] == "3"  # created, moved, cancelled: not cancelled twice


async def test_an_outage_is_retried_then_opens_the_circuit(
    http: httpx.AsyncClient, medirecords: FakeMediRecords
) -> None:
    ehr = _ehr(http, medirecords)
    medirecords.answers = [503]  # with Retry-After: 0, waited out inside the call
    await ehr.create_patient(PAT, "p-1")
    medirecords.failing = 500
    for _ in range(2):
        with pytest.raises(EhrUnavailable):
            await ehr.read_patient("x")  # two attempts each: the circuit's threshold is 3
    assert await ehr.state() == "open"
    asked = medirecords.requests
    with pytest.raises(EhrCircuitOpen):
        await ehr.read_patient("x")
    assert medirecords.requests == asked  # not called while open


async def test_a_wrong_token_is_an_outage_not_a_refusal(
    http: httpx.AsyncClient, medirecords: FakeMediRecords
) -> None:
    ehr = _ehr(http, medirecords, token="revoked")
    with pytest.raises(EhrUnavailable):
        await ehr.read_patient("x")
    assert medirecords.patients == {}


async def test_the_webhook_is_read_only_with_the_key(medirecords: FakeMediRecords) -> None:
    patient = medirecords.add_patient(name=[{"family": "Example", "given": ["Pat"]}])
    body = json.dumps(medirecords.webhook("patient.updated", patient)).encode()
    notices = MediRecordsNotices(WEBHOOK_KEY)
    notice = notices.read(f"Bearer {WEBHOOK_KEY}", body)
    assert notice.patient_ids == (patient,)
    with pytest.raises(EhrNoticeRefused):
        notices.read(f"Bearer {WEBHOOK_KEY}x", body)
    other = medirecords.webhook("encounter.updated", patient)
    assert notices.read(f"Bearer {WEBHOOK_KEY}", json.dumps(other).encode()).patient_ids == ()


async def test_hubspot_upserts_by_email_and_its_outages_open_the_circuit(
    http: httpx.AsyncClient, hubspot: FakeHubSpot
) -> None:
    crm = HubSpotContacts(http, HUBSPOT_TOKEN, base_url=hubspot.url, threshold=2, policy=NO_WAIT)
    await crm.upsert_contact(CrmContact("pat@example.com", "Pat", None))
    await crm.upsert_contact(CrmContact("pat@example.com", "Pat", "Example"))
    assert list(hubspot.contacts) == ["pat@example.com"]
    assert hubspot.contacts["pat@example.com"]["properties"]["lastname"] == "Example"
    hubspot.failing = 502
    with pytest.raises(CrmUnavailable):
        await crm.upsert_contact(CrmContact("x@example.com", None, None))
    asked = hubspot.requests
    with pytest.raises(CrmCircuitOpen):
        await crm.upsert_contact(CrmContact("x@example.com", None, None))
    assert hubspot.requests == asked
