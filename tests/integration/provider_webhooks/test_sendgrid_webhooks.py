"""What the providers send back, through the app over a real database (helpers:
support/provider_webhooks.py; the fake servers, the signing key and the settings: this folder's
conftest.py). Messages go out through the production adapters to the fake Twilio and SendGrid
servers on loopback; the webhooks are signed here as the vendors sign them. This module:
SendGrid's signed events (an ECDSA P-256 key generated for the test as SendGrid's signing key).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from clinicflow.bootstrap import Container, build
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem
from support.loopback_tls import loopback_tls
from support.provider_webhooks import PUBLIC, book_and_notify, message


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
    built = build(bare, clock=clock, http=httpx.AsyncClient(trust_env=False, verify=loopback_tls()))
    body, headers = signed_events(signing_key, [event("abc", "delivered")])
    transport = httpx.ASGITransport(app=create_app(container=built))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            resp = await client.post("/v1/webhooks/sendgrid/events", content=body, headers=headers)
    finally:
        await built.aclose()
    assert_problem(resp, 403, "webhook_not_authenticated")
