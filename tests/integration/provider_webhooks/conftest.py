"""The provider webhook tests' fixtures: the fake Twilio and SendGrid servers on loopback,
SendGrid's signing key, the clinic's settings pointing at them and the client that reaches them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from clinicflow.settings import Settings
from support.app import clinic_settings
from support.fake_sendgrid import API_KEY, FakeSendGrid
from support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from support.fake_vendor import serving
from support.provider_webhooks import CLINIC_NUMBER, PUBLIC, verification_key


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    yield from serving(FakeTwilio())


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    yield from serving(FakeSendGrid())


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    signing_key: ec.EllipticCurvePrivateKey,
) -> Settings:
    return clinic_settings(
        database_url,
        tmp_path,
        public_url=PUBLIC,
        sendgrid_api_key=API_KEY,
        sendgrid_base_url=sendgrid.url,
        sendgrid_webhook_public_key=verification_key(signing_key),
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_sender=CLINIC_NUMBER,
        twilio_base_url=twilio.url,
        provider_retry_wait_seconds=0,
    )


@pytest.fixture
def provider_http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http  # support/fake_vendor.py's client for the fakes on loopback
