"""The Web Push tests' fixtures: a VAPID key per module, the clinic's settings with it, the
fake push service on loopback and the client that reaches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.app import clinic_settings
from support.fake_push import FakePushService
from support.fake_vendor import serving
from support.push_browsers import PUBLIC, SUBJECT, TTL, pem


@pytest.fixture(scope="module")
def vapid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def settings(database_url: str, tmp_path: Path, vapid_key: ec.EllipticCurvePrivateKey) -> Settings:
    return clinic_settings(
        database_url,
        tmp_path,
        public_url=PUBLIC,
        vapid_private_key=pem(vapid_key),
        vapid_subject=SUBJECT,
        push_ttl_seconds=TTL,
        push_allow_loopback=True,  # the fake push service listens on 127.0.0.1
        provider_retry_attempts=1,
    )


@pytest.fixture
def provider_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http  # support/fake_vendor.py's client for the fakes on loopback


@pytest.fixture
def service(vapid_key: ec.EllipticCurvePrivateKey, clock: FixedClock) -> Iterator[FakePushService]:
    yield from serving(FakePushService(vapid_key.public_key(), clock.now()))
