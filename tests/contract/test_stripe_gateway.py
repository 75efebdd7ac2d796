"""StripeGateway (official SDK, async, on our httpx client) against a fake Stripe API on
loopback: PaymentIntents, refunds, idempotent retries, errors, reconciliation records.
Webhook signatures and parsing are in test_stripe_webhooks.py; outages (retries that give up,
the circuit, timeouts) in test_gateway_outages.py."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from clinicflow.adapters.payment_gateways import stripe_gateway
from clinicflow.adapters.payment_gateways.resilient import (
    ResilientGateway,
    gateway_breaker,
)
from clinicflow.adapters.payment_gateways.stripe_gateway import StripeGateway
from clinicflow.payments.ports import (
    GatewayRefundRequest,
    GatewayRejected,
    GatewayUnavailable,
    PaymentDeclined,
    PaymentGateway,
    PaymentRequest,
)
from clinicflow.shared.clock import FixedClock
from support.fake_http import Request
from support.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe
from support.fake_stripe_wire import decode_form
from support.payment_servers import (
    MASSAGE,
    NO_WAIT,
    create,
    resilient,
    stripe_on,
)


@pytest.fixture
def fake(stripe_server: FakeStripe) -> FakeStripe:
    return stripe_server


@pytest.fixture
def gateway(fake: FakeStripe, http: httpx.AsyncClient, clock: FixedClock) -> StripeGateway:
    return stripe_on(fake, http, clock)


def posts(fake: FakeStripe) -> list[Request]:
    return [r for r in fake.requests if r.method == "POST"]


async def test_a_payment_intent_is_created_form_encoded_for_the_browser(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    port: PaymentGateway = gateway

    payment = await port.create_payment(
        PaymentRequest("ord_1", 12_345, "usd", "Acupuncture", "idem-1", {"visit": "v9"})
    )

    assert (payment.provider, payment.status) == ("stripe", "requires_action")
    assert (payment.amount_cents, payment.currency, payment.amount_received_cents) == (
        12_345,
        "USD",
        0,
    )
    assert payment.client_secret is not None
    assert payment.client_secret.startswith(f"{payment.provider_id}_secret_")
    [request] = fake.requests
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["idempotency-key"] == "idem-1"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "stripe-version" in request.headers
    assert decode_form(request.body.decode()) == {
        "amount": "12345",
        "currency": "usd",
        "description": "Acupuncture",
        "metadata": {"visit": "v9", "order_id": "ord_1"},
        "automatic_payment_methods": {"enabled": "true"},
    }


async def test_secrets_stay_out_of_reprs(gateway: StripeGateway) -> None:
    payment = await gateway.create_payment(MASSAGE)

    assert payment.client_secret is not None
    assert payment.client_secret not in repr(payment)
    assert API_KEY not in repr(gateway)
    assert WEBHOOK_SECRET not in repr(gateway)


async def test_retrieve_reports_a_payment_the_buyer_completed(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    intent_id = await create(gateway)
    fake.complete(intent_id)

    payment = await gateway.retrieve(intent_id)

    assert (payment.status, payment.amount_received_cents) == ("succeeded", 5000)
    assert (
        await gateway.capture(intent_id, "capture-1") == payment
    )  # automatic capture: nothing to take


async def test_a_declined_browser_attempt_reads_as_failed_with_its_code(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    intent_id = await create(gateway)
    fake.complete(intent_id, "pm_card_chargeDeclinedInsufficientFunds")

    payment = await gateway.retrieve(intent_id)

    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    assert fake.charges == {}


async def test_a_declined_card_on_file_raises_payment_declined_with_the_decline_code(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    with pytest.raises(PaymentDeclined) as caught:
        await gateway.create_payment(
            PaymentRequest("ord_1", 5000, "USD", "No-show fee", "idem-1"),
            payment_method="pm_card_chargeDeclined",
        )

    assert caught.value.code == "generic_decline"
    assert fake.charges == {}
    form = decode_form(fake.requests[0].body.decode())
    assert (form["confirm"], form["payment_method"]) == ("true", "pm_card_chargeDeclined")


async def test_a_card_on_file_is_charged_at_once(gateway: StripeGateway, fake: FakeStripe) -> None:
    payment = await gateway.create_payment(
        PaymentRequest("ord_1", 5000, "USD", "No-show fee", "idem-1"), payment_method="pm_card_visa"
    )

    assert (payment.status, payment.amount_received_cents) == ("succeeded", 5000)
    assert len(fake.charges) == 1


async def test_a_lost_reply_is_retried_with_the_same_key_and_charges_once(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    fake.lose_replies = 1  # Stripe charged, then the reply never arrived

    payment = await resilient(gateway).create_payment(MASSAGE)

    assert len(fake.intents) == 1
    assert payment.provider_id in fake.intents
    assert [r.headers["idempotency-key"] for r in posts(fake)] == ["idem-1", "idem-1"]


async def test_a_card_on_file_retried_with_its_key_after_lost_replies_is_charged_once(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    fake.lose_replies = 2

    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            await gateway.create_payment(
                PaymentRequest("ord_1", 5000, "USD", "Fee", "idem-1"), payment_method="pm_card_visa"
            )
    again = await gateway.create_payment(
        PaymentRequest("ord_1", 5000, "USD", "Fee", "idem-1"), payment_method="pm_card_visa"
    )

    assert again.status == "succeeded"
    assert len(fake.charges) == 1
    assert [r.headers["idempotency-key"] for r in posts(fake)] == ["idem-1"] * 3


async def test_a_reused_key_with_other_parameters_is_rejected(gateway: StripeGateway) -> None:
    await create(gateway, "idem-1", amount=5000)

    with pytest.raises(GatewayRejected) as caught:
        await create(gateway, "idem-1", amount=6000)

    assert caught.value.code == "idempotency_error"


async def test_server_errors_are_retried_until_it_succeeds(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    fake.answers = [500, 503]

    payment = await resilient(gateway).create_payment(MASSAGE)

    assert list(fake.intents) == [payment.provider_id]
    assert len(fake.requests) == 3


async def test_throttling_is_unavailability(gateway: StripeGateway, fake: FakeStripe) -> None:
    fake.answers = [429]

    with pytest.raises(GatewayUnavailable, match="429"):
        await create(gateway)


async def test_a_rejection_does_not_count_as_an_outage(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    breaker = gateway_breaker("stripe", threshold=1)
    retrying = ResilientGateway(gateway, breaker, NO_WAIT)

    with pytest.raises(GatewayRejected):
        await retrying.refund(GatewayRefundRequest("pi_missing", None, "r-1"))

    assert await breaker.state() == "closed"
    assert await create(retrying) in fake.intents


async def test_a_wrong_api_key_is_rejected_not_unavailable(
    fake: FakeStripe, http: httpx.AsyncClient, clock: FixedClock
) -> None:
    gateway = StripeGateway(http, "sk_test_wrong", WEBHOOK_SECRET, clock, base_url=fake.url)

    with pytest.raises(GatewayRejected) as caught:
        await create(gateway)
    assert not isinstance(caught.value, GatewayUnavailable)
    assert "sk_test_wrong" not in str(caught.value)


async def test_cancel_is_safe_to_repeat_and_refused_after_payment(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    open_id = await create(gateway, "idem-1")
    paid_id = await create(gateway, "idem-2")
    fake.complete(paid_id)

    assert (await gateway.cancel(open_id)).status == "canceled"
    assert (await gateway.cancel(open_id)).status == "canceled"
    with pytest.raises(GatewayRejected) as caught:
        await gateway.cancel(paid_id)

    assert caught.value.code == "payment_intent_unexpected_state"
    assert fake.intents[paid_id]["status"] == "succeeded"


async def test_partial_refunds_then_the_rest_then_nothing_is_left(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    intent_id = await create(gateway)
    fake.complete(intent_id)

    first = await gateway.refund(GatewayRefundRequest(intent_id, 2000, "refund-1"))
    rest = await gateway.refund(GatewayRefundRequest(intent_id, None, "refund-2", "duplicate"))
    with pytest.raises(GatewayRejected) as caught:
        await gateway.refund(GatewayRefundRequest(intent_id, None, "refund-3"))

    assert (first.status, first.amount_cents, first.payment_id) == ("succeeded", 2000, intent_id)
    assert (rest.amount_cents, rest.currency) == (3000, "USD")
    assert caught.value.code == "charge_already_refunded"
    forms = [decode_form(r.body.decode()) for r in posts(fake)[1:3]]
    assert forms == [
        {"payment_intent": intent_id, "reason": "requested_by_customer", "amount": "2000"},
        {"payment_intent": intent_id, "reason": "duplicate"},
    ]


async def test_a_refund_retried_after_a_lost_reply_refunds_once(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    intent_id = await create(gateway)
    fake.complete(intent_id)
    fake.lose_replies = 1

    refund = await resilient(gateway).refund(GatewayRefundRequest(intent_id, 1500, "refund-1"))

    assert list(fake.refunds) == [refund.provider_id]
    assert fake.charges[fake.intents[intent_id]["latest_charge"]]["amount_refunded"] == 1500


async def test_refunding_more_than_is_left_is_rejected(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    intent_id = await create(gateway)
    fake.complete(intent_id)

    with pytest.raises(GatewayRejected) as caught:
        await gateway.refund(GatewayRefundRequest(intent_id, 5001, "refund-1"))
    assert caught.value.code == "amount_too_large"


async def test_records_list_recent_payments_across_pages_and_the_ledgers_older_ones(
    gateway: StripeGateway, fake: FakeStripe, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe_gateway, "_PAGE", 2)
    old = await create(gateway, "k-old")
    fake.now += 3600
    since = clock.now() + timedelta(minutes=30)
    recent = [await create(gateway, f"k-{n}", amount=1000 * (n + 1)) for n in range(3)]
    fake.complete(recent[0])
    await gateway.refund(GatewayRefundRequest(recent[0], 400, "refund-1"))

    records = [r async for r in gateway.records(since, provider_ids=[old, recent[1]])]

    assert [r.provider_id for r in records] == [*reversed(recent), old]
    by_id = {r.provider_id: r for r in records}
    assert (by_id[recent[0]].status, by_id[recent[0]].amount_received_cents) == ("succeeded", 1000)
    assert by_id[recent[0]].refunded_cents == 400
    assert by_id[old].order_id == "ord_1"
    assert by_id[old].created == clock.now()
    assert by_id[recent[2]].created == clock.now() + timedelta(hours=1)
    list_calls = [r for r in fake.requests if r.method == "GET" and r.path == "/v1/payment_intents"]
    assert len(list_calls) == 2
