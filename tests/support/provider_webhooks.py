"""What the provider webhook tests (tests/integration/provider_webhooks/) share: the public URLs
Twilio calls back, the numbers, a patient who agreed to texts, a visit booked and its messages
sent, a message as stored, Twilio's signed form posts (status reports and replies), and
SendGrid's verification key as the settings take it.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.notifications.tables import messages
from support.api import booking
from support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, sign
from support.notifications import envelope

PUBLIC = "http://clinic.test"
STATUS_URL = f"{PUBLIC}/v1/webhooks/twilio/status"
INBOUND_URL = f"{PUBLIC}/v1/webhooks/twilio/inbound"
CLINIC_NUMBER = "+15005550006"
PATIENT_NUMBER = "+15125550001"
PAT = {
    "first_name": "Pat1",
    "last_name": "Example",
    "email": "pat1@example.com",
    "phone": PATIENT_NUMBER,
    "contact_prefs": {"sms": True},
}
WED = "2026-11-25T{}:00-06:00"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def verification_key(key: ec.EllipticCurvePrivateKey) -> str:
    """As SendGrid's settings page shows it: base64 of the DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


async def patient_with_sms_consent(client: httpx.AsyncClient, staff: dict[str, str]) -> str:
    resp = await client.post("/v1/patients", json=PAT, headers=staff)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def book_and_notify(client: httpx.AsyncClient, container: Container, hour: str) -> str:
    resp = await client.post("/v1/bookings", json=booking(WED.format(hour)))
    assert resp.status_code == 201, resp.text
    booking_id = str(resp.json()["id"])
    event = await envelope(container, "booking.created", booking_id)
    await container.notifications.subscriber.handle(event)
    return booking_id


async def message(container: Container, booking_id: str, channel: str) -> Any:
    query = select(messages).where(
        messages.c.booking_id == booking_id, messages.c.channel == channel
    )
    async with container.db.read() as conn:
        return (await conn.execute(query)).one()


async def post_twilio(
    client: httpx.AsyncClient, url: str, params: dict[str, str], token: str = AUTH_TOKEN
) -> httpx.Response:
    headers = {**FORM, "X-Twilio-Signature": sign(token, url, params)}
    return await client.post(url, content=urlencode(params), headers=headers)


def status(sid: str, value: str, **extra: str) -> dict[str, str]:
    """A status callback's parameters, as Twilio posts them."""
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": value,
        "SmsStatus": value,
        "AccountSid": ACCOUNT_SID,
        "From": CLINIC_NUMBER,
        "To": PATIENT_NUMBER,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def reply(text: str) -> dict[str, str]:
    """An incoming text's parameters, as Twilio posts them."""
    return {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": ACCOUNT_SID,
        "From": PATIENT_NUMBER,
        "To": CLINIC_NUMBER,
        "Body": text,
        "NumMedia": "0",
    }
