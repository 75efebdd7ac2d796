"""The fake MediRecords and HubSpot servers as fixtures, and the settings that point a
clinicflow at them. No tests here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clinicflow.settings import Settings
from support.app import CLINIC_YAML
from support.fake_hubspot import TOKEN as HUBSPOT_TOKEN
from support.fake_hubspot import FakeHubSpot
from support.fake_medirecords import TOKEN as MEDIRECORDS_TOKEN
from support.fake_medirecords import FakeMediRecords
from support.fake_vendor import serving

WEBHOOK_KEY = "medirecords-webhook-api-key-0123456789"
PATIENT_SYSTEM = "urn:clinicflow:patient"
BOOKING_SYSTEM = "urn:clinicflow:booking"


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
    return Settings(
        database_url=database_url,
        config_path=CLINIC_YAML,
        data_dir=tmp_path,
        keys_file=tmp_path / "keys.json",
        **(given | over),
    )
