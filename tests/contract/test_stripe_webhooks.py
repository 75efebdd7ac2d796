"""Stripe-Signature verification (HMAC-SHA256 over "t.body", any v1, 300 s tolerance on the
injected clock) and the mapping of Stripe events onto the port's event types.

Signatures are computed here with hmac directly, and checked against the SDK's own signing
helper and the fake server's, so all three agree on the scheme."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import pytest
import stripe

from clinicflow.adapters.payment_gateways.stripe_gateway import StripeGateway
from clinicflow.adapters.payment_gateways.stripe_webhooks import (
    parse_stripe_event,
    verify_stripe_signature,
)
from clinicflow.payments.ports import GatewayEvent, WebhookSignatureInvalid
from clinicflow.shared.clock import FixedClock
from support.fake_stripe import API_KEY, WEBHOOK_SECRET
from support.fake_stripe_wire import event_body, sign
from support.loopback_tls import loopback_tls

PI = {
    "id": "pi_123",
    "object": "payment_intent",
    "amount": 5000,
    "amount_received": 5000,
    "currency": "usd",
    "status": "succeeded",
    "metadata": {"order_id": "ord_1"},
    "last_payment_error": None,
}


def signature(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_the_scheme_agrees_with_the_sdk_and_the_fake() -> None:
    body = event_body("payment_intent.succeeded", PI, 1_795_000_000)

    mine = signature(WEBHOOK_SECRET, body, 1_795_000_000)

    assert mine == stripe.WebhookSignature.generate_signature_header(
        body.decode(), WEBHOOK_SECRET, 1_795_000_000
    )
    assert mine == sign(WEBHOOK_SECRET, body, 1_795_000_000)


def test_a_fresh_signed_event_verifies(clock: FixedClock) -> None:
    now = int(clock.now().timestamp())
    body = event_body("payment_intent.succeeded", PI, now)

    verify_stripe_signature(body, signature(WEBHOOK_SECRET, body, now), WEBHOOK_SECRET, clock.now())


@pytest.mark.parametrize("age", [0, 299, 300])
def test_up_to_the_tolerance_it_verifies(clock: FixedClock, age: int) -> None:
    signed_at = int(clock.now().timestamp()) - age
    body = event_body("payment_intent.succeeded", PI, signed_at)

    header = signature(WEBHOOK_SECRET, body, signed_at)
    verify_stripe_signature(body, header, WEBHOOK_SECRET, clock.now(), tolerance=300)


def test_a_signature_older_than_the_tolerance_is_refused(clock: FixedClock) -> None:
    signed_at = int(clock.now().timestamp()) - 301
    body = event_body("payment_intent.succeeded", PI, signed_at)

    with pytest.raises(WebhookSignatureInvalid, match="tolerance"):
        verify_stripe_signature(
            body, signature(WEBHOOK_SECRET, body, signed_at), WEBHOOK_SECRET, clock.now()
        )


def test_any_matching_v1_among_several_verifies(clock: FixedClock) -> None:
    now = int(clock.now().timestamp())
    body = event_body("payment_intent.succeeded", PI, now)
    good = signature(WEBHOOK_SECRET, body, now).split(",")[1]
    header = f"t={now},v1={'0' * 64},{good},v0={'f' * 64}"

    verify_stripe_signature(body, header, WEBHOOK_SECRET, clock.now())


@pytest.mark.parametrize(
    "tamper",
    ["secret", "body", "timestamp", "v0-only", "empty", "missing", "garbage", "non-utf8"],
)
def test_anything_tampered_is_refused(clock: FixedClock, tamper: str) -> None:
    now = int(clock.now().timestamp())
    body = event_body("payment_intent.succeeded", PI, now)
    header: str | None = signature(WEBHOOK_SECRET, body, now)
    if tamper == "secret":
        header = signature("whsec_another", body, now)
    elif tamper == "body":
        body = body.replace(b"5000", b"9000")
    elif tamper == "timestamp":
        header = signature(WEBHOOK_SECRET, body, now).replace(f"t={now}", f"t={now + 1}")
    elif tamper == "v0-only":
        header = signature(WEBHOOK_SECRET, body, now).replace("v1=", "v0=")
    elif tamper in ("empty", "missing"):
        header = "" if tamper == "empty" else None
    elif tamper == "garbage":
        header = "not a signature"
    else:
        body = b"\xff" + body

    with pytest.raises(WebhookSignatureInvalid):
        verify_stripe_signature(body, header, WEBHOOK_SECRET, clock.now())


async def test_the_gateway_verifies_on_its_clock_then_parses(clock: FixedClock) -> None:
    async with httpx.AsyncClient(trust_env=False, verify=loopback_tls()) as http:
        gateway = StripeGateway(http, API_KEY, WEBHOOK_SECRET, clock, webhook_tolerance=60)
        now = int(clock.now().timestamp())
        body = event_body("payment_intent.succeeded", PI, now)
        headers = {"stripe-signature": signature(WEBHOOK_SECRET, body, now)}

        event = await gateway.parse_webhook(headers, body)
        clock.advance(timedelta(seconds=61))
        with pytest.raises(WebhookSignatureInvalid):
            await gateway.parse_webhook(headers, body)

    assert event.type == "payment.succeeded"
    assert event.event_id == json.loads(body)["id"]
    assert event.occurred_at == clock.now() - timedelta(seconds=61)


def parsed(event_type: str, obj: dict[str, object]) -> GatewayEvent:
    return parse_stripe_event(event_body(event_type, obj, 1_795_000_000))


def test_a_succeeded_intent_names_payment_order_and_amount_received() -> None:
    event = parsed("payment_intent.succeeded", PI)

    assert (event.provider, event.type, event.raw_type) == (
        "stripe",
        "payment.succeeded",
        "payment_intent.succeeded",
    )
    assert (event.provider_payment_id, event.order_id) == ("pi_123", "ord_1")
    assert (event.amount_cents, event.currency) == (5000, "USD")


def test_a_failed_intent_carries_the_decline_code() -> None:
    error = {"type": "card_error", "code": "card_declined", "decline_code": "expired_card"}
    obj = PI | {
        "status": "requires_payment_method",
        "amount_received": 0,
        "last_payment_error": error,
    }

    event = parsed("payment_intent.payment_failed", obj)

    assert (event.type, event.failure_code, event.amount_cents) == (
        "payment.failed",
        "expired_card",
        5000,
    )


@pytest.mark.parametrize(
    ("event_type", "status", "expected"),
    [
        ("refund.created", "succeeded", "refund.succeeded"),
        ("refund.updated", "pending", "refund.pending"),
        ("refund.updated", "succeeded", "refund.succeeded"),
        ("refund.failed", "failed", "refund.failed"),
    ],
)
def test_refund_events_name_the_refund_and_its_payment(
    event_type: str, status: str, expected: str
) -> None:
    refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 1500,
        "currency": "usd",
        "payment_intent": "pi_123",
        "status": status,
        "metadata": {},
    }

    event = parsed(event_type, refund)

    assert (event.type, event.refund_id, event.provider_payment_id) == (expected, "re_1", "pi_123")
    assert event.amount_cents == 1500


def test_a_dispute_names_the_payment() -> None:
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 5000,
        "currency": "usd",
        "payment_intent": "pi_123",
        "status": "needs_response",
    }

    event = parsed("charge.dispute.created", dispute)

    assert (event.type, event.provider_payment_id, event.amount_cents) == (
        "dispute.opened",
        "pi_123",
        5000,
    )


@pytest.mark.parametrize("event_type", ["charge.refunded", "customer.created"])
def test_other_events_are_other(event_type: str) -> None:
    assert parsed(event_type, {"id": "x"}).type == "other"


def test_a_body_that_is_not_an_event_is_refused() -> None:
    with pytest.raises(ValueError, match="Stripe event"):
        parse_stripe_event(b'{"object": "payment_intent"}')
