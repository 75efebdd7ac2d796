"""The PaymentGateway contract, run against every implementation: the in-memory FakeGateway
(Stripe-like and PayPal-like), StripeGateway on the fake Stripe server, and PayPalGateway on
the fake PayPal server. Checkout may rely on exactly what holds here for all of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from clinicflow.adapters.payment_gateways.fake import FakeGateway
from clinicflow.payments.ports import (
    GatewayRefundRequest,
    GatewayRejected,
    GatewayUnavailable,
    PaymentGateway,
    PaymentRequest,
    WebhookSignatureInvalid,
)
from clinicflow.shared.clock import FixedClock
from support.fake_paypal import FakePayPal
from support.fake_paypal_webhooks import capture_resource
from support.fake_stripe import WEBHOOK_SECRET, FakeStripe
from support.fake_stripe_wire import event_body, sign
from support.payment_servers import (
    paypal_on,
    stripe_on,
)

Signed = tuple[dict[str, str], bytes]


@dataclass
class Harness:
    gateway: PaymentGateway
    pay: Callable[[str], Awaitable[None]]  # the buyer pays (and we capture, where needed)
    outage: Callable[[int], None]  # the next n calls find the gateway down
    signed_success: Callable[[str], Signed]  # the gateway's "payment succeeded" webhook


def in_memory(clock: FixedClock, needs_capture: bool) -> Harness:
    fake = FakeGateway(clock, "paypal" if needs_capture else "stripe", needs_capture=needs_capture)

    async def pay(provider_id: str) -> None:
        fake.pay(provider_id)
        await fake.capture(provider_id, f"capture-{provider_id}")

    def outage(n: int) -> None:
        fake.outage = n

    return Harness(fake, pay, outage, lambda pid: fake.signed_event("payment.succeeded", pid))


def stripe(server: FakeStripe, http: httpx.AsyncClient, clock: FixedClock) -> Harness:
    gateway = stripe_on(server, http, clock)

    async def pay(provider_id: str) -> None:
        server.complete(provider_id)

    def outage(n: int) -> None:
        server.answers = [503] * n

    def signed_success(provider_id: str) -> Signed:
        body = event_body("payment_intent.succeeded", server.intents[provider_id], server.now)
        return {"Stripe-Signature": sign(WEBHOOK_SECRET, body, server.now)}, body

    return Harness(gateway, pay, outage, signed_success)


def paypal(server: FakePayPal, http: httpx.AsyncClient, clock: FixedClock) -> Harness:
    gateway = paypal_on(server, http, clock)

    async def pay(provider_id: str) -> None:
        server.approve(provider_id)
        await gateway.capture(provider_id, f"capture-{provider_id}")

    def outage(n: int) -> None:
        server.answers = [503] * n

    def signed_success(provider_id: str) -> Signed:
        resource = capture_resource(server.orders[provider_id])
        return server.webhook("PAYMENT.CAPTURE.COMPLETED", resource)

    return Harness(gateway, pay, outage, signed_success)


@pytest.fixture(params=["memory-stripe-like", "memory-paypal-like", "stripe", "paypal"])
def harness(request: pytest.FixtureRequest, http: httpx.AsyncClient, clock: FixedClock) -> Harness:
    if request.param.startswith("memory"):
        return in_memory(clock, needs_capture=request.param.endswith("paypal-like"))
    if request.param == "stripe":
        return stripe(request.getfixturevalue("stripe_server"), http, clock)
    return paypal(request.getfixturevalue("paypal_server"), http, clock)


async def start(harness: Harness, key: str = "idem-1", amount: int = 5000) -> str:
    payment = await harness.gateway.create_payment(
        PaymentRequest("ord_1", amount, "USD", "Massage", key)
    )
    assert payment.status == "requires_action"
    assert (payment.client_secret is None) != (payment.approve_url is None)
    return payment.provider_id


async def test_a_create_retried_with_its_key_is_the_same_payment(harness: Harness) -> None:
    first = await start(harness)

    assert await start(harness) == first
    assert await start(harness, "idem-2") != first


async def test_a_paid_payment_reads_as_succeeded_with_the_amount_received(
    harness: Harness,
) -> None:
    provider_id = await start(harness, amount=7500)
    await harness.pay(provider_id)

    payment = await harness.gateway.retrieve(provider_id)

    assert (payment.status, payment.amount_received_cents, payment.currency) == (
        "succeeded",
        7500,
        "USD",
    )


async def test_refunds_add_up_to_what_was_received_and_no_more(harness: Harness) -> None:
    provider_id = await start(harness)
    await harness.pay(provider_id)

    part = await harness.gateway.refund(GatewayRefundRequest(provider_id, 1000, "refund-1"))
    again = await harness.gateway.refund(GatewayRefundRequest(provider_id, 1000, "refund-1"))
    rest = await harness.gateway.refund(GatewayRefundRequest(provider_id, None, "refund-2"))
    with pytest.raises(GatewayRejected):
        await harness.gateway.refund(GatewayRefundRequest(provider_id, 1, "refund-3"))

    assert again == part
    assert [part.amount_cents, rest.amount_cents] == [1000, 4000]
    assert {part.payment_id, rest.payment_id} == {provider_id}


async def test_an_unpaid_payment_cancels_and_a_paid_one_does_not(harness: Harness) -> None:
    unpaid = await start(harness, "idem-1")
    paid = await start(harness, "idem-2")
    await harness.pay(paid)

    assert (await harness.gateway.cancel(unpaid)).status == "canceled"
    with pytest.raises(GatewayRejected):
        await harness.gateway.cancel(paid)


async def test_records_carry_our_order_and_the_refunded_amount(
    harness: Harness, clock: FixedClock
) -> None:
    provider_id = await start(harness)
    await harness.pay(provider_id)
    await harness.gateway.refund(GatewayRefundRequest(provider_id, 1250, "refund-1"))

    records = [r async for r in harness.gateway.records(clock.now(), [provider_id])]

    [record] = [r for r in records if r.provider_id == provider_id]
    assert (record.order_id, record.status, record.refunded_cents) == ("ord_1", "succeeded", 1250)
    assert (record.amount_cents, record.amount_received_cents) == (5000, 5000)


async def test_an_outage_is_gateway_unavailable(harness: Harness) -> None:
    harness.outage(1)

    with pytest.raises(GatewayUnavailable):
        await start(harness)


async def test_a_signed_success_webhook_parses_and_a_tampered_one_does_not(
    harness: Harness,
) -> None:
    provider_id = await start(harness)
    await harness.pay(provider_id)
    headers, body = harness.signed_success(provider_id)

    event = await harness.gateway.parse_webhook(headers, body)
    with pytest.raises(WebhookSignatureInvalid):
        await harness.gateway.parse_webhook(headers, body.replace(b"ord_1", b"ord_2"))

    assert (event.type, event.provider_payment_id, event.order_id) == (
        "payment.succeeded",
        provider_id,
        "ord_1",
    )
    assert event.provider == harness.gateway.provider
