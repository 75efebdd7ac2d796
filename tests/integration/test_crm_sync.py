"""The CRM sync against a fake HubSpot on loopback: a booking's patient who opted in to
marketing becomes a contact with their email and name and nothing clinical; a patient
without that consent sends nothing at all."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import audit_log
from clinicflow.settings import Settings
from support.api import booking, person
from support.ehr_servers import synced_settings
from support.fake_hubspot import FakeHubSpot

pytestmark = pytest.mark.both_databases


@pytest.fixture
def settings(database_url: str, tmp_path: Path, hubspot: FakeHubSpot) -> Settings:
    return synced_settings(database_url, tmp_path, hubspot=hubspot)


@pytest.fixture
def provider_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http


async def _patient(
    client: httpx.AsyncClient, desk: dict[str, str], n: int, prefs: dict[str, bool]
) -> str:
    made = await client.post(
        "/v1/patients", json={**person(n), "contact_prefs": prefs}, headers=desk
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def _book(client: httpx.AsyncClient, container: Container, n: int, start: str) -> None:
    made = await client.post("/v1/bookings", json=booking(start=start, n=n))
    assert made.status_code == 201, made.text
    await container.bus.run_once()


async def test_a_consenting_patient_becomes_a_contact_with_nothing_clinical(
    client: httpx.AsyncClient,
    container: Container,
    hubspot: FakeHubSpot,
    front_desk: dict[str, str],
) -> None:
    patient_id = await _patient(client, front_desk, 1, {"email": True, "marketing": True})
    await _book(client, container, 1, "2026-11-25T10:00:00-06:00")
    assert hubspot.contacts == {
        "pat1@example.com": {
            **hubspot.contacts["pat1@example.com"],
            "properties": {"email": "pat1@example.com", "firstname": "Pat1", "lastname": "Example"},
        }
    }
    assert hubspot.properties_seen == {"email", "firstname", "lastname"}
    sent = b"".join(hubspot.bodies).decode()
    for clinical in ("alternative_medicine", "initial", "doctor1", "2026-11-25", "+1512555"):
        assert clinical not in sent
    # The read of the record was the integration's, audited.
    async with container.db.read() as conn:
        query = select(audit_log.c.action).where(
            audit_log.c.actor_id == "integration:crm", audit_log.c.patient_id == patient_id
        )
        assert [r.action for r in await conn.execute(query)] == ["read"]


async def test_nothing_is_sent_for_a_patient_without_marketing_consent(
    client: httpx.AsyncClient,
    container: Container,
    hubspot: FakeHubSpot,
    front_desk: dict[str, str],
) -> None:
    await _patient(client, front_desk, 2, {"email": True, "sms": True})  # no marketing
    withdrawn = await _patient(client, front_desk, 3, {"marketing": True})
    changed = await client.patch(
        f"/v1/patients/{withdrawn}",
        json={"contact_prefs": {"marketing": False}},
        headers=front_desk,
    )
    assert changed.status_code == 200, changed.text
    await _book(client, container, 2, "2026-11-25T10:00:00-06:00")
    await _book(client, container, 3, "2026-11-25T11:00:00-06:00")
    await _book(client, container, 4, "2026-11-25T13:00:00-06:00")  # a new patient: no prefs
    assert hubspot.requests == 0
    assert hubspot.contacts == {}
