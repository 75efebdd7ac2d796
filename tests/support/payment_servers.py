"""The fake Stripe and PayPal servers on loopback as fixtures, and the real gateway adapters
wired to them, for the payments contract and integration tests. No tests here."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tenacity import wait_none

from clinicflow.adapters.payment_gateways.paypal_gateway import PayPalGateway
from clinicflow.adapters.payment_gateways.resilient import (
    ResilientGateway,
    RetryPolicy,
    gateway_breaker,
)
from clinicflow.adapters.payment_gateways.stripe_gateway import StripeGateway
from clinicflow.payments.ports import PaymentGateway, PaymentRequest
from clinicflow.shared.clock import FixedClock
from support.fake_paypal import CLIENT_ID, CLIENT_SECRET, FakePayPal
from support.fake_paypal_webhooks import WEBHOOK_ID
from support.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe

NO_WAIT = RetryPolicy(attempts=3, wait=wait_none())
MASSAGE = PaymentRequest("ord_1", 5000, "USD", "Massage", "idem-1")


@pytest.fixture
def stripe_server(clock: FixedClock) -> Iterator[FakeStripe]:
    server = FakeStripe()
    server.now = int(clock.now().timestamp())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def paypal_server(clock: FixedClock) -> Iterator[FakePayPal]:
    server = FakePayPal()
    server.now = clock.now()
    server.start()
    yield server
    server.stop()


def stripe_on(server: FakeStripe, http: httpx.AsyncClient, clock: FixedClock) -> StripeGateway:
    return StripeGateway(http, API_KEY, WEBHOOK_SECRET, clock, base_url=server.url)


def paypal_on(server: FakePayPal, http: httpx.AsyncClient, clock: FixedClock) -> PayPalGateway:
    return PayPalGateway(http, CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, clock, base_url=server.url)


def resilient(gateway: PaymentGateway, policy: RetryPolicy = NO_WAIT) -> ResilientGateway:
    """The adapter with retries (none waited for) and a fresh circuit breaker of its own."""
    return ResilientGateway(gateway, gateway_breaker(gateway.provider), policy)


async def create(gateway: PaymentGateway, key: str = "idem-1", amount: int = 5000) -> str:
    """A new payment's provider id."""
    request = PaymentRequest("ord_1", amount, "USD", "Massage 60 min", key)
    return (await gateway.create_payment(request)).provider_id
