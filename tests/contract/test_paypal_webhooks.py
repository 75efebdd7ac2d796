"""PayPal webhooks through PayPalGateway.parse_webhook: verified by PayPal's own
verify-webhook-signature API (the fake's), then mapped onto the port's event types."""

from __future__ import annotations

import json

import httpx
import pytest

from clinicflow.adapters.payment_gateways.paypal_gateway import PayPalGateway
from clinicflow.adapters.payment_gateways.paypal_webhooks import parse_paypal_event
from clinicflow.payments.ports import (
    GatewayRefundRequest,
    GatewayUnavailable,
    PaymentRequest,
    WebhookSignatureInvalid,
)
from clinicflow.shared.clock import FixedClock
from support.fake_http import Request
from support.fake_paypal import FakePayPal
from support.fake_paypal_webhooks import WEBHOOK_ID, capture_resource
from support.payment_servers import MASSAGE, paypal_on

Delivery = tuple[dict[str, str], bytes]  # headers, raw body
VERIFY = "/v1/notifications/verify-webhook-signature"


@pytest.fixture
def fake(paypal_server: FakePayPal) -> FakePayPal:
    return paypal_server


@pytest.fixture
def gateway(fake: FakePayPal, http: httpx.AsyncClient, clock: FixedClock) -> PayPalGateway:
    return paypal_on(fake, http, clock)


@pytest.fixture
async def paid_order(gateway: PayPalGateway, fake: FakePayPal) -> dict[str, object]:
    payment = await gateway.create_payment(MASSAGE)
    fake.approve(payment.provider_id)
    await gateway.capture(payment.provider_id, "capture-1")
    return fake.orders[payment.provider_id]


def verify_calls(fake: FakePayPal) -> list[Request]:
    return [r for r in fake.requests if r.path == VERIFY]


async def test_a_genuine_capture_event_is_verified_by_paypal_and_names_our_payment(
    gateway: PayPalGateway, fake: FakePayPal, paid_order: dict[str, object], clock: FixedClock
) -> None:
    headers, body = fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture_resource(paid_order))

    event = await gateway.parse_webhook({k.lower(): v for k, v in headers.items()}, body)

    assert (event.provider, event.type, event.raw_type) == (
        "paypal",
        "payment.succeeded",
        "PAYMENT.CAPTURE.COMPLETED",
    )
    assert (event.provider_payment_id, event.order_id) == (paid_order["id"], "ord_1")
    assert (event.amount_cents, event.currency, event.occurred_at) == (5000, "USD", clock.now())
    assert event.event_id == json.loads(body)["id"]
    [call] = verify_calls(fake)
    assert call.headers["authorization"].startswith("Bearer ")
    sent = json.loads(call.body)
    assert sent == {
        "auth_algo": "SHA256withRSA",
        "cert_url": headers["PAYPAL-CERT-URL"],
        "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
        "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
        "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
        "webhook_id": WEBHOOK_ID,
        "webhook_event": json.loads(body),
    }


async def test_an_approved_order_asks_for_capture(gateway: PayPalGateway, fake: FakePayPal) -> None:
    payment = await gateway.create_payment(
        PaymentRequest("ord_7", 2500, "USD", "Massage", "idem-1")
    )
    fake.approve(payment.provider_id)

    headers, body = fake.webhook("CHECKOUT.ORDER.APPROVED", fake.orders[payment.provider_id])
    event = await gateway.parse_webhook(headers, body)

    assert (event.type, event.provider_payment_id) == (
        "payment.requires_capture",
        payment.provider_id,
    )
    assert (event.order_id, event.amount_cents) == ("ord_7", 2500)


async def test_a_refund_event_names_the_refund_and_our_order(
    gateway: PayPalGateway, fake: FakePayPal, paid_order: dict[str, object]
) -> None:
    refund = await gateway.refund(GatewayRefundRequest(str(paid_order["id"]), 1200, "refund-1"))
    payments = fake.orders[str(paid_order["id"])]["purchase_units"][0]["payments"]

    headers, body = fake.webhook("PAYMENT.CAPTURE.REFUNDED", payments["refunds"][0])
    event = await gateway.parse_webhook(headers, body)

    assert (event.type, event.refund_id, event.order_id) == (
        "refund.succeeded",
        refund.provider_id,
        "ord_1",
    )
    assert (event.amount_cents, event.provider_payment_id) == (1200, None)


async def test_a_denied_capture_is_a_failure_with_its_reason(
    gateway: PayPalGateway, fake: FakePayPal, paid_order: dict[str, object]
) -> None:
    denied = capture_resource(paid_order) | {
        "status": "DECLINED",
        "status_details": {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"},
    }
    headers, body = fake.webhook("PAYMENT.CAPTURE.DENIED", denied)

    event = await gateway.parse_webhook(headers, body)

    assert (event.type, event.failure_code) == ("payment.failed", "DECLINED_BY_RISK_FRAUD_FILTERS")


@pytest.fixture
def completed(fake: FakePayPal, paid_order: dict[str, object]) -> Delivery:
    """PayPal's signed PAYMENT.CAPTURE.COMPLETED delivery for the paid order."""
    return fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture_resource(paid_order))


async def test_an_altered_body_fails_paypals_verification(
    gateway: PayPalGateway, completed: Delivery
) -> None:
    headers, body = completed

    with pytest.raises(WebhookSignatureInvalid, match="did not verify"):
        await gateway.parse_webhook(headers, body.replace(b'"50.00"', b'"5.00"'))


async def test_an_event_for_another_webhook_fails_verification(
    gateway: PayPalGateway, fake: FakePayPal, paid_order: dict[str, object]
) -> None:
    headers, body = fake.webhook(
        "PAYMENT.CAPTURE.COMPLETED", capture_resource(paid_order), webhook_id="OTHERWEBHOOK"
    )

    with pytest.raises(WebhookSignatureInvalid):
        await gateway.parse_webhook(headers, body)


async def test_a_forged_signature_fails_verification(
    gateway: PayPalGateway, completed: Delivery
) -> None:
    headers, body = completed
    forged = headers | {"PAYPAL-TRANSMISSION-SIG": "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ=="}

    with pytest.raises(WebhookSignatureInvalid):
        await gateway.parse_webhook(forged, body)


@pytest.mark.parametrize("dropped", ["PAYPAL-TRANSMISSION-SIG", "PAYPAL-CERT-URL"])
async def test_a_delivery_missing_a_header_is_refused_without_asking_paypal(
    gateway: PayPalGateway, fake: FakePayPal, completed: Delivery, dropped: str
) -> None:
    headers, body = completed
    del headers[dropped]

    with pytest.raises(WebhookSignatureInvalid, match=dropped):
        await gateway.parse_webhook(headers, body)
    assert verify_calls(fake) == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
async def test_a_body_that_is_not_an_event_is_refused(
    gateway: PayPalGateway, completed: Delivery, body: bytes
) -> None:
    headers, _ = completed

    with pytest.raises(WebhookSignatureInvalid):
        await gateway.parse_webhook(headers, body)


async def test_paypal_down_during_verification_is_unavailability(
    gateway: PayPalGateway, fake: FakePayPal, completed: Delivery
) -> None:
    headers, body = completed
    fake.answers = [503]

    with pytest.raises(GatewayUnavailable):
        await gateway.parse_webhook(headers, body)


def test_events_payments_does_not_act_on_are_other() -> None:
    event = parse_paypal_event(
        {
            "id": "WH-1",
            "event_type": "BILLING.SUBSCRIPTION.CREATED",
            "create_time": "2026-11-24T15:00:00.123Z",
            "resource": {},
        }
    )

    assert (event.type, event.raw_type) == ("other", "BILLING.SUBSCRIPTION.CREATED")


def test_an_object_without_id_and_type_is_not_an_event() -> None:
    with pytest.raises(ValueError, match="PayPal webhook event"):
        parse_paypal_event({"resource": {}})
