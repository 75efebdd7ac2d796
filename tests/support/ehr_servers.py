"""The fake MediRecords and HubSpot servers as fixtures, the settings that point a clinicflow
at them, and the scene the MediRecords sync tests stand on (`ehr`). No tests here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import book
from support.app import clinic_settings
from support.fake_hubspot import TOKEN as HUBSPOT_TOKEN
from support.fake_hubspot import FakeHubSpot
from support.fake_medirecords import TOKEN as MEDIRECORDS_TOKEN
from support.fake_medirecords import FakeMediRecords
from support.fake_vendor import serving

WEBHOOK_KEY = "medirecords-webhook-api-key-0123456789"
PATIENT_SYSTEM = "urn:clinicflow:patient"
BOOKING_SYSTEM = "urn:clinicflow:booking"
MEDIRECORDS_HOOK = "/v1/webhooks/medirecords"
EHR_CONFLICTS = "/v1/integrations/ehr/conflicts"


@pytest.fixture
def medirecords() -> Iterator[FakeMediRecords]:
    yield from serving(FakeMediRecords())


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpot]:
    yield from serving(FakeHubSpot())


def ehr_env(medirecords: FakeMediRecords, *, push_visits: bool = True) -> dict[str, str]:
    """The environment a `clinicflow` process needs to sync with the fake."""
    return {
        "CLINICFLOW_MEDIRECORDS_URL": medirecords.api_url,
        "CLINICFLOW_MEDIRECORDS_TOKEN": MEDIRECORDS_TOKEN,
        "CLINICFLOW_MEDIRECORDS_WEBHOOK_KEY": WEBHOOK_KEY,
        "CLINICFLOW_MEDIRECORDS_PUSH_VISITS": "true" if push_visits else "false",
    }


def synced_settings(
    database_url: str,
    tmp_path: Path,
    *,
    medirecords: FakeMediRecords | None = None,
    hubspot: FakeHubSpot | None = None,
    **over: Any,
) -> Settings:
    given: dict[str, Any] = {}
    if medirecords is not None:
        given |= {
            "medirecords_url": medirecords.api_url,
            "medirecords_token": MEDIRECORDS_TOKEN,
            "medirecords_webhook_key": WEBHOOK_KEY,
            "medirecords_push_visits": True,
        }
    if hubspot is not None:
        given |= {"hubspot_token": HUBSPOT_TOKEN, "hubspot_url": hubspot.url}
    return clinic_settings(
        database_url,
        tmp_path,
        **(given | over),
    )


@dataclass(frozen=True)
class EhrScene:
    """The app over the API with the MediRecords sync on, its container and clock, the fake
    MediRecords and the front desk's headers, with the steps the sync tests take."""

    client: httpx.AsyncClient
    container: Container
    clock: FixedClock
    medirecords: FakeMediRecords
    desk: dict[str, str]

    async def booked(self, **over: Any) -> dict[str, Any]:
        """A booking made over the API, and the bus run once so the sync has seen it."""
        made = await book(self.client, **over)
        await self.container.bus.run_once()
        return made

    def remote_patient(self, patient_id: str) -> dict[str, Any]:
        """The one patient in MediRecords that carries our patient's identifier."""
        mark = {"system": PATIENT_SYSTEM, "value": patient_id}
        found = [p for p in self.medirecords.patients.values() if mark in p.get("identifier", [])]
        assert len(found) == 1, found
        return found[0]

    async def hook(self, body: dict[str, Any]) -> httpx.Response:
        """MediRecords calling our webhook with the key it was given."""
        headers = {"Authorization": f"Bearer {WEBHOOK_KEY}"}
        return await self.client.post(MEDIRECORDS_HOOK, json=body, headers=headers)

    async def patient(self, patient_id: str) -> dict[str, Any]:
        record = await self.client.get(f"/v1/patients/{patient_id}", headers=self.desk)
        assert record.status_code == 200, record.text
        return dict(record.json())

    async def conflicts(self) -> list[dict[str, Any]]:
        listed = await self.client.get(EHR_CONFLICTS, headers=self.desk)
        assert listed.status_code == 200, listed.text
        return list(listed.json())


@pytest.fixture
def ehr(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    medirecords: FakeMediRecords,
    front_desk: dict[str, str],
) -> EhrScene:
    return EhrScene(client, container, clock, medirecords, front_desk)
