"""What the providers send back, through the app over a real database: Twilio's status
callbacks and STOP/START replies (signed with X-Twilio-Signature), SendGrid's signed events.

Messages go out through the production adapters to the fake Twilio and SendGrid servers on
loopback; the webhooks are signed here as the vendors sign them (fake_twilio.sign, and an
ECDSA P-256 key generated for the test as SendGrid's signing key).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from clinicflow.bootstrap import Container, build
from clinicflow.gateway.app import create_app
from clinicflow.infra.audit import audit_log
from clinicflow.notifications.tables import messages
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem, booking
from support.app import clinic_settings
from support.fake_sendgrid import API_KEY, FakeSendGrid
from support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, sign
from support.fake_vendor import serving
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


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    yield from serving(FakeTwilio())


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    yield from serving(FakeSendGrid())


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def verification_key(key: ec.EllipticCurvePrivateKey) -> str:
    """As SendGrid's settings page shows it: base64 of the DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


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


@pytest.fixture
async def sent_sms(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> Any:
    """A booking confirmation texted through the fake Twilio: its message row."""
    await patient_with_sms_consent(client, front_desk)
    row = await message(container, await book_and_notify(client, container, "10"), "sms")
    assert (row.status, row.provider) == ("sent", "twilio")
    return row


async def test_texts_ask_twilio_to_report_delivery_to_the_public_url(
    sent_sms: Any, twilio: FakeTwilio
) -> None:
    assert twilio.messages[sent_sms.provider_id]["StatusCallback"] == STATUS_URL


async def test_a_signed_delivered_report_marks_the_text_delivered(
    client: httpx.AsyncClient, container: Container, sent_sms: Any
) -> None:
    resp = await post_twilio(client, STATUS_URL, status(sent_sms.provider_id, "delivered"))
    assert resp.status_code == 204, resp.text
    row = await message(container, sent_sms.booking_id, "sms")
    assert row.status == "delivered"


@pytest.mark.parametrize("signature", [None, "bm90IGEgc2lnbmF0dXJl", "other-token"])
async def test_a_badly_signed_report_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, sent_sms: Any, signature: str | None
) -> None:
    params = status(sent_sms.provider_id, "failed", ErrorCode="30008")
    headers = dict(FORM)
    if signature == "other-token":
        headers["X-Twilio-Signature"] = sign("not-the-auth-token", STATUS_URL, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    resp = await client.post(STATUS_URL, content=urlencode(params), headers=headers)
    assert_problem(resp, 403, "webhook_not_authenticated")
    assert (await message(container, sent_sms.booking_id, "sms")).status == "sent"


async def test_a_report_signed_for_other_parameters_is_refused(
    client: httpx.AsyncClient, container: Container, sent_sms: Any
) -> None:
    signed = status(sent_sms.provider_id, "sent")
    tampered = {**signed, "MessageStatus": "failed", "SmsStatus": "failed"}
    headers = {**FORM, "X-Twilio-Signature": sign(AUTH_TOKEN, STATUS_URL, signed)}
    resp = await client.post(STATUS_URL, content=urlencode(tampered), headers=headers)
    assert_problem(resp, 403, "webhook_not_authenticated")
    assert (await message(container, sent_sms.booking_id, "sms")).status == "sent"


@pytest.mark.both_databases
async def test_a_repeated_report_changes_nothing(
    client: httpx.AsyncClient, container: Container, clock: FixedClock, sent_sms: Any
) -> None:
    params = status(sent_sms.provider_id, "delivered")
    assert (await post_twilio(client, STATUS_URL, params)).status_code == 204
    first = await message(container, sent_sms.booking_id, "sms")
    clock.advance(timedelta(minutes=1))
    assert (await post_twilio(client, STATUS_URL, params)).status_code == 204
    again = await message(container, sent_sms.booking_id, "sms")
    assert (again.status, again.updated_at) == ("delivered", first.updated_at)


@pytest.mark.both_databases
async def test_a_late_sent_report_leaves_the_text_delivered(
    client: httpx.AsyncClient, container: Container, sent_sms: Any
) -> None:
    for value in ("delivered", "sent", "queued", "undelivered"):
        resp = await post_twilio(client, STATUS_URL, status(sent_sms.provider_id, value))
        assert resp.status_code == 204, resp.text
    row = await message(container, sent_sms.booking_id, "sms")
    assert (row.status, row.reason) == ("delivered", None)


async def test_undelivered_is_failed_with_twilios_code_and_not_sent_again(
    client: httpx.AsyncClient, container: Container, twilio: FakeTwilio, sent_sms: Any
) -> None:
    params = status(sent_sms.provider_id, "undelivered", ErrorCode="30003")
    assert (await post_twilio(client, STATUS_URL, params)).status_code == 204
    row = await message(container, sent_sms.booking_id, "sms")
    assert (row.status, row.reason) == ("failed", "twilio undelivered, error 30003")
    # The event delivered again (as the bus does after any failure) texts no second time.
    event = await envelope(container, "booking.created", sent_sms.booking_id)
    await container.notifications.subscriber.handle(event)
    assert len(twilio.messages) == 1


async def test_a_report_for_an_unknown_message_is_acknowledged_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, sent_sms: Any
) -> None:
    resp = await post_twilio(client, STATUS_URL, status("SM" + "0" * 32, "failed"))
    assert resp.status_code == 204  # Twilio must not retry it
    assert (await message(container, sent_sms.booking_id, "sms")).status == "sent"


@pytest.mark.both_databases
async def test_stop_withdraws_sms_consent_and_start_gives_it_back(
    client: httpx.AsyncClient,
    container: Container,
    twilio: FakeTwilio,
    front_desk: dict[str, str],
    log_stream: Any,
) -> None:
    patient_id = await patient_with_sms_consent(client, front_desk)
    await book_and_notify(client, container, "10")
    assert len(twilio.messages) == 1

    stop = await post_twilio(client, INBOUND_URL, reply(" stop "))
    assert stop.status_code == 200, stop.text
    assert stop.headers["content-type"].startswith("text/xml")
    assert stop.text.endswith("<Response/>")
    sms = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()[
        "contact_prefs"
    ]["sms"]
    assert sms["opt_in"] is False
    assert sms["withdrawn_at"].startswith("2026-11-24T15:00")

    after_stop = await message(container, await book_and_notify(client, container, "11"), "sms")
    assert (after_stop.status, after_stop.reason) == ("skipped", "no consent")
    assert len(twilio.messages) == 1

    start = await post_twilio(client, INBOUND_URL, reply("START"))
    assert start.status_code == 200, start.text
    sms = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()[
        "contact_prefs"
    ]["sms"]
    assert (sms["opt_in"], sms["withdrawn_at"]) == (True, None)
    after_start = await message(container, await book_and_notify(client, container, "13"), "sms")
    assert after_start.status == "sent"
    assert len(twilio.messages) == 2

    async with container.db.read() as conn:
        query = select(audit_log.c.action, audit_log.c.actor_type, audit_log.c.patient_id)
        audited = (await conn.execute(query.where(audit_log.c.action.like("sms_opt_%")))).all()
    assert sorted(audited) == [
        ("sms_opt_in", "system", patient_id),
        ("sms_opt_out", "system", patient_id),
    ]
    logged = log_stream.getvalue()
    assert "sms_consent_reply" in logged
    assert "5125550001" not in logged


@pytest.mark.both_databases
async def test_a_repeated_stop_changes_nothing_and_start_opts_in_no_one_who_never_agreed(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/patients", json={**PAT, "contact_prefs": {"email": True}}, headers=front_desk
    )
    patient_id = created.json()["id"]
    assert (await post_twilio(client, INBOUND_URL, reply("START"))).status_code == 200
    prefs = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()
    assert "sms" not in prefs["contact_prefs"]
    assert prefs["version"] == created.json()["version"]

    await post_twilio(client, INBOUND_URL, reply("STOP"))
    once = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()
    await post_twilio(client, INBOUND_URL, reply("STOP"))
    twice = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()
    assert twice["contact_prefs"] == once["contact_prefs"]
    assert twice["version"] == once["version"] == created.json()["version"] + 1


async def test_an_unsigned_stop_is_refused(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    patient_id = await patient_with_sms_consent(client, front_desk)
    resp = await client.post(INBOUND_URL, content=urlencode(reply("STOP")), headers=FORM)
    assert_problem(resp, 403, "webhook_not_authenticated")
    patient = (await client.get(f"/v1/patients/{patient_id}", headers=front_desk)).json()
    assert patient["contact_prefs"]["sms"]["opt_in"] is True


async def test_twilio_webhooks_are_refused_when_twilio_is_not_configured(
    settings: Settings, clock: FixedClock
) -> None:
    bare = settings.model_copy(
        update={"twilio_account_sid": None, "twilio_auth_token": None, "twilio_sender": None}
    )
    built = build(bare, clock=clock, http=httpx.AsyncClient(trust_env=False))
    transport = httpx.ASGITransport(app=create_app(container=built))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            resp = await post_twilio(client, INBOUND_URL, reply("STOP"))
    finally:
        await built.aclose()
    assert_problem(resp, 403, "webhook_not_authenticated")


# SendGrid's Event Webhook


def signed_events(
    key: ec.EllipticCurvePrivateKey, events: list[dict[str, Any]], timestamp: str = "1764082800"
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(events).encode()
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return body, {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def event(x_message_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": "pat1@example.com",
        "timestamp": 1764082800,
        "event": kind,
        "sg_event_id": f"evt-{kind}",
        "sg_message_id": f"{x_message_id}.filterdrecv-5645d9c87f-abcde-1-5F5FC76C-9.0",
        **extra,
    }


@pytest.fixture
async def sent_email(client: httpx.AsyncClient, container: Container) -> Any:
    row = await message(container, await book_and_notify(client, container, "10"), "email")
    assert (row.status, row.provider) == ("sent", "sendgrid")
    assert row.provider_id
    return row


async def test_signed_sendgrid_events_mark_the_email_delivered(
    client: httpx.AsyncClient,
    container: Container,
    sent_email: Any,
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    kinds = ("processed", "open", "delivered", "click", "deferred")
    body, headers = signed_events(signing_key, [event(sent_email.provider_id, k) for k in kinds])
    resp = await client.post("/v1/webhooks/sendgrid/events", content=body, headers=headers)
    assert resp.status_code == 204, resp.text
    assert (await message(container, sent_email.booking_id, "email")).status == "delivered"


async def test_a_bounce_fails_the_email_with_codes_and_no_address(
    client: httpx.AsyncClient,
    container: Container,
    sent_email: Any,
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    bounce = event(
        sent_email.provider_id,
        "bounce",
        type="bounce",
        status="5.1.1",
        reason="550 5.1.1 The email account pat1@example.com does not exist",
    )
    body, headers = signed_events(signing_key, [bounce])
    resp = await client.post("/v1/webhooks/sendgrid/events", content=body, headers=headers)
    assert resp.status_code == 204, resp.text
    row = await message(container, sent_email.booking_id, "email")
    assert (row.status, row.reason) == ("failed", "sendgrid bounce 5.1.1")


@pytest.mark.parametrize("tamper", ["payload", "timestamp", "unsigned"])
async def test_tampered_sendgrid_events_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    container: Container,
    sent_email: Any,
    signing_key: ec.EllipticCurvePrivateKey,
    tamper: str,
) -> None:
    body, headers = signed_events(signing_key, [event(sent_email.provider_id, "delivered")])
    if tamper == "payload":
        body = body.replace(b'"delivered"', b'"dropped"')
    elif tamper == "timestamp":
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = "1764082801"
    else:
        del headers["X-Twilio-Email-Event-Webhook-Signature"]
    resp = await client.post("/v1/webhooks/sendgrid/events", content=body, headers=headers)
    assert_problem(resp, 403, "webhook_not_authenticated")
    assert (await message(container, sent_email.booking_id, "email")).status == "sent"


async def test_sendgrid_events_are_refused_without_a_verification_key(
    settings: Settings, clock: FixedClock, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    bare = settings.model_copy(update={"sendgrid_webhook_public_key": None})
    built = build(bare, clock=clock, http=httpx.AsyncClient(trust_env=False))
    body, headers = signed_events(signing_key, [event("abc", "delivered")])
    transport = httpx.ASGITransport(app=create_app(container=built))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            resp = await client.post("/v1/webhooks/sendgrid/events", content=body, headers=headers)
    finally:
        await built.aclose()
    assert_problem(resp, 403, "webhook_not_authenticated")
