"""Both payment gateways (Stripe, PayPal) against their fake APIs on loopback when the
provider is down: retries that give up, the circuit that opens, the client's own timeout.
What each one does with a working API is in test_stripe_gateway.py / test_paypal_gateway.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from tenacity import wait_none

from clinicflow.adapters.payment_gateways.resilient import (
    ResilientGateway,
    RetryPolicy,
    gateway_breaker,
)
from clinicflow.payments.ports import GatewayCircuitOpen, GatewayUnavailable, PaymentGateway
from clinicflow.shared.clock import FixedClock
from support.fake_http import Request
from support.fake_paypal import FakePayPal
from support.fake_stripe import FakeStripe
from support.loopback_tls import loopback_tls
from support.payment_servers import create, paypal_on, resilient, stripe_on


@dataclass(frozen=True)
class Provider:
    """One provider's fake API and our adapter on it, as an outage test needs them."""

    fake: FakeStripe | FakePayPal
    on: Callable[[httpx.AsyncClient], PaymentGateway]  # the adapter on that client
    down: list[int]  # the statuses of an outage the retries do not outlast

    def api_calls(self) -> list[Request]:
        """What the adapter asked, but for PayPal's OAuth token."""
        return [r for r in self.fake.requests if r.path != "/v1/oauth2/token"]

    def payments(self) -> dict[str, object]:
        fake = self.fake
        return dict(fake.orders if isinstance(fake, FakePayPal) else fake.intents)


@pytest.fixture(params=["stripe", "paypal"])
def provider(request: pytest.FixtureRequest, clock: FixedClock) -> Provider:
    if request.param == "stripe":
        stripe: FakeStripe = request.getfixturevalue("stripe_server")
        return Provider(stripe, lambda http: stripe_on(stripe, http, clock), [503, 502, 500])
    paypal: FakePayPal = request.getfixturevalue("paypal_server")
    return Provider(paypal, lambda http: paypal_on(paypal, http, clock), [500, 503, 502])


@pytest.fixture
def gateway(provider: Provider, http: httpx.AsyncClient) -> PaymentGateway:
    return provider.on(http)


async def test_a_gateway_that_stays_down_is_unavailable_after_the_retries(
    gateway: PaymentGateway, provider: Provider
) -> None:
    provider.fake.answers = list(provider.down)

    with pytest.raises(GatewayUnavailable, match=f"answered {provider.down[-1]}"):
        await create(resilient(gateway))

    assert len(provider.api_calls()) == 3
    assert provider.payments() == {}


async def test_the_circuit_opens_after_repeated_outages(
    gateway: PaymentGateway, provider: Provider
) -> None:
    provider.fake.answers = [503] * 10
    breaker = gateway_breaker(gateway.provider, threshold=2, reset_after=60)
    retrying = ResilientGateway(gateway, breaker, RetryPolicy(attempts=1, wait=wait_none()))

    for key in ("a", "b"):
        with pytest.raises(GatewayUnavailable):
            await create(retrying, key)
    with pytest.raises(GatewayCircuitOpen):
        await create(retrying, "c")

    assert len(provider.api_calls()) == 2
    assert await breaker.state() == "open"


async def test_a_timeout_is_unavailability(provider: Provider) -> None:
    provider.fake.hang = True  # API calls never answer; the client's own timeout ends the wait
    async with httpx.AsyncClient(trust_env=False, timeout=0.2, verify=loopback_tls()) as http:
        gateway = provider.on(http)

        with pytest.raises(GatewayUnavailable, match="timed out"):
            await create(gateway)
