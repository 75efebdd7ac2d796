"""PayPalGateway against a fake PayPal REST API on loopback: the OAuth token, Orders v2
create → approve → capture, refunds, idempotent retries, errors, records. Outages (retries
that give up, the circuit, timeouts) are in test_gateway_outages.py."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest

from clinicflow.adapters.payment_gateways.paypal_gateway import PayPalGateway
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
from support.fake_paypal import CLIENT_ID, CLIENT_SECRET, FakePayPal
from support.fake_paypal_webhooks import WEBHOOK_ID
from support.payment_servers import (
    MASSAGE,
    create,
    paypal_on,
    resilient,
)


@pytest.fixture
def fake(paypal_server: FakePayPal) -> FakePayPal:
    return paypal_server


@pytest.fixture
def gateway(fake: FakePayPal, http: httpx.AsyncClient, clock: FixedClock) -> PayPalGateway:
    return paypal_on(fake, http, clock)


def api_calls(fake: FakePayPal) -> list[Request]:
    return [r for r in fake.requests if r.path != "/v1/oauth2/token"]


async def approved(
    gateway: PayPalGateway, fake: FakePayPal, key: str = "idem-1", decline: str | None = None
) -> str:
    """An order created with idempotency key `key` and approved by the buyer: its id."""
    order_id = await create(gateway, key)
    fake.approve(order_id, decline)
    return order_id


async def captured(gateway: PayPalGateway, fake: FakePayPal, key: str = "idem-paid") -> str:
    order_id = await approved(gateway, fake, key)
    await gateway.capture(order_id, f"capture-{key}")
    return order_id


async def test_an_order_is_created_for_capture_with_our_order_as_custom_id(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    port: PaymentGateway = gateway

    payment = await port.create_payment(
        PaymentRequest("ord_1", 12_345, "usd", "Acupuncture", "idem-1")
    )

    assert (payment.provider, payment.status, payment.provider_id) == (
        "paypal",
        "requires_action",
        next(iter(fake.orders)),
    )
    assert (payment.amount_cents, payment.currency, payment.client_secret) == (12_345, "USD", None)
    assert payment.approve_url == (
        f"https://www.sandbox.paypal.com/checkoutnow?token={payment.provider_id}"
    )
    [request] = api_calls(fake)
    assert request.headers["paypal-request-id"] == "idem-1"
    assert request.headers["prefer"] == "return=representation"
    assert request.headers["authorization"].startswith("Bearer A21AA")
    assert json.loads(request.body) == {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "custom_id": "ord_1",
                "description": "Acupuncture",
                "amount": {"currency_code": "USD", "value": "123.45"},
            }
        ],
    }


async def test_the_token_is_fetched_with_basic_auth_and_client_credentials(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    await create(gateway)

    token_request = fake.requests[0]
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["authorization"] == f"Basic {basic}"
    assert token_request.form() == {"grant_type": ["client_credentials"]}


async def test_with_return_urls_the_buyer_is_redirected_to_the_payer_action_link(
    fake: FakePayPal, http: httpx.AsyncClient, clock: FixedClock
) -> None:
    gateway = PayPalGateway(
        http,
        CLIENT_ID,
        CLIENT_SECRET,
        WEBHOOK_ID,
        clock,
        base_url=fake.url,
        return_url="https://clinic.example/pay/return",
        cancel_url="https://clinic.example/pay",
    )

    payment = await gateway.create_payment(MASSAGE)

    assert fake.orders[payment.provider_id]["status"] == "PAYER_ACTION_REQUIRED"
    assert payment.status == "requires_action"
    assert payment.approve_url is not None
    assert payment.provider_id in payment.approve_url
    context = json.loads(api_calls(fake)[0].body)["payment_source"]["paypal"]
    assert context["experience_context"] == {
        "shipping_preference": "NO_SHIPPING",
        "user_action": "PAY_NOW",
        "return_url": "https://clinic.example/pay/return",
        "cancel_url": "https://clinic.example/pay",
    }


async def test_the_token_is_reused_until_shortly_before_it_expires(
    gateway: PayPalGateway, fake: FakePayPal, clock: FixedClock
) -> None:
    fake.token_lifetime = 3600
    order_id = await create(gateway)
    clock.advance(timedelta(seconds=3600 - 61))
    await gateway.retrieve(order_id)
    assert fake.token_requests == 1

    clock.advance(timedelta(seconds=1))
    await gateway.retrieve(order_id)
    assert fake.token_requests == 2


async def test_a_revoked_token_is_replaced_once_and_the_call_goes_through(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    order_id = await create(gateway)
    fake.revoke_tokens()

    payment = await gateway.retrieve(order_id)

    assert payment.provider_id == order_id
    assert fake.token_requests == 2


async def test_wrong_credentials_are_rejected_not_unavailable(
    fake: FakePayPal, http: httpx.AsyncClient, clock: FixedClock
) -> None:
    gateway = PayPalGateway(http, CLIENT_ID, "wrong", WEBHOOK_ID, clock, base_url=fake.url)

    with pytest.raises(GatewayRejected) as caught:
        await create(gateway)

    assert not isinstance(caught.value, GatewayUnavailable)
    assert caught.value.code == "invalid_client"
    assert "wrong" not in repr(gateway)
    assert CLIENT_SECRET not in repr(gateway)


async def test_create_approve_capture_then_capture_again_takes_the_money_once(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    order_id = await create(gateway)
    with pytest.raises(GatewayRejected) as early:
        await gateway.capture(order_id, "capture-1")
    fake.approve(order_id)
    assert (await gateway.retrieve(order_id)).status == "requires_capture"

    first = await gateway.capture(order_id, "capture-2")
    again = await gateway.capture(order_id, "capture-2")
    other_key = await gateway.capture(order_id, "capture-3")

    assert early.value.code == "ORDER_NOT_APPROVED"
    assert (first.status, first.amount_received_cents, first.approve_url) == (
        "succeeded",
        5000,
        None,
    )
    assert again == first == other_key
    assert fake.captured_count() == 1
    captures = [r for r in api_calls(fake) if r.path.endswith("/capture")]
    assert [r.headers["paypal-request-id"] for r in captures] == [
        "capture-1",
        "capture-2",
        "capture-2",
        "capture-3",
    ]


async def test_a_capture_repeated_after_paypal_forgot_the_request_id_reads_as_done(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    order_id = await captured(gateway, fake)
    fake.forget_request_ids()

    payment = await gateway.capture(order_id, "capture-idem-paid")

    assert payment.status == "succeeded"
    assert fake.captured_count() == 1


async def test_a_declined_instrument_raises_payment_declined_with_the_issue(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    order_id = await approved(gateway, fake, decline="INSTRUMENT_DECLINED")

    with pytest.raises(PaymentDeclined) as caught:
        await gateway.capture(order_id, "capture-1")

    assert caught.value.code == "INSTRUMENT_DECLINED"
    assert "debug_id" in caught.value.detail
    assert fake.captured_count() == 0


async def test_a_capture_whose_reply_was_lost_is_retried_and_captures_once(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    order_id = await approved(gateway, fake)
    fake.lose_replies = 1

    retrying = resilient(gateway)
    payment = await retrying.capture(order_id, "capture-1")

    assert payment.status == "succeeded"
    assert fake.captured_count() == 1


async def test_a_create_whose_reply_was_lost_is_retried_with_the_same_request_id(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    fake.lose_replies = 2

    payment = await resilient(gateway).create_payment(MASSAGE)

    assert list(fake.orders) == [payment.provider_id]
    assert [r.headers["paypal-request-id"] for r in api_calls(fake)] == ["idem-1"] * 3


async def test_partial_refund_then_the_rest_then_nothing_is_left(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    order_id = await captured(gateway, fake)

    first = await gateway.refund(GatewayRefundRequest(order_id, 2000, "refund-1"))
    rest = await gateway.refund(GatewayRefundRequest(order_id, None, "refund-2"))
    with pytest.raises(GatewayRejected) as caught:
        await gateway.refund(GatewayRefundRequest(order_id, None, "refund-3"))

    assert (first.status, first.amount_cents, first.payment_id) == ("succeeded", 2000, order_id)
    assert (rest.amount_cents, rest.currency) == (3000, "USD")
    assert caught.value.code == "CAPTURE_FULLY_REFUNDED"
    refunds = [r for r in api_calls(fake) if r.path.endswith("/refund")]
    assert json.loads(refunds[0].body) == {
        "custom_id": "ord_1",
        "amount": {"currency_code": "USD", "value": "20.00"},
    }
    assert json.loads(refunds[1].body) == {"custom_id": "ord_1"}
    assert refunds[0].headers["paypal-request-id"] == "refund-1"


async def test_a_refund_whose_reply_was_lost_refunds_once(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    order_id = await captured(gateway, fake)
    fake.lose_replies = 1

    refund = await resilient(gateway).refund(GatewayRefundRequest(order_id, 1500, "refund-1"))

    payments = fake.orders[order_id]["purchase_units"][0]["payments"]
    assert [r["id"] for r in payments["refunds"]] == [refund.provider_id]


async def test_refunds_beyond_the_capture_or_before_it_are_rejected(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    order_id = await captured(gateway, fake)
    uncaptured = await create(gateway, "idem-open")

    with pytest.raises(GatewayRejected) as too_much:
        await gateway.refund(GatewayRefundRequest(order_id, 5001, "refund-1"))
    with pytest.raises(GatewayRejected) as too_early:
        await gateway.refund(GatewayRefundRequest(uncaptured, None, "refund-2"))

    assert too_much.value.code == "REFUND_AMOUNT_EXCEEDED"
    assert too_early.value.code == "NOT_CAPTURED"


async def test_cancel_gives_up_an_uncaptured_order_but_not_a_captured_one(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    open_id = await create(gateway, "idem-open")
    paid_id = await captured(gateway, fake)

    assert (await gateway.cancel(open_id)).status == "canceled"
    with pytest.raises(GatewayRejected) as caught:
        await gateway.cancel(paid_id)
    assert caught.value.code == "ORDER_ALREADY_CAPTURED"


async def test_records_retrieve_each_known_order_once(
    gateway: PayPalGateway, fake: FakePayPal, clock: FixedClock
) -> None:
    paid = await captured(gateway, fake)
    await gateway.refund(GatewayRefundRequest(paid, 1250, "refund-1"))
    waiting = await create(gateway, "idem-open", amount=7000)

    records = [r async for r in gateway.records(clock.now(), [paid, waiting, paid])]

    assert [r.provider_id for r in records] == [paid, waiting]
    assert (records[0].status, records[0].amount_received_cents, records[0].refunded_cents) == (
        "succeeded",
        5000,
        1250,
    )
    assert (records[1].status, records[1].amount_cents, records[1].order_id) == (
        "requires_action",
        7000,
        "ord_1",
    )
    assert records[0].created == clock.now()


async def test_a_zero_decimal_currency_is_sent_without_decimals(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    payment = await gateway.create_payment(
        PaymentRequest("ord_1", 1500, "JPY", "Massage", "idem-1")
    )

    assert fake.orders[payment.provider_id]["purchase_units"][0]["amount"] == {
        "currency_code": "JPY",
        "value": "1500",
    }
    assert (payment.amount_cents, payment.currency) == (1500, "JPY")
