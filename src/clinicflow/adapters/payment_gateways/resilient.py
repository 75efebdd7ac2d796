"""A gateway wrapped in retries and a circuit breaker.

bootstrap composes `ResilientGateway(StripeGateway(…), gateway_breaker("stripe"))`. Retrying
a write is safe because every create, capture and refund carries the caller's idempotency
key, and a cancel repeated is reported as the cancel it already was. When Stripe stays down
(`GatewayUnavailable`, or `GatewayCircuitOpen` without even trying), checkout offers PayPal
for the same order; `breaker.state()` lets the page know before the buyer clicks.

`records` and `parse_webhook` pass straight through: reconciliation is a batch that is run
again, and a webhook that cannot be verified now is answered 5xx and delivered again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from datetime import datetime

from purgatory import AsyncCircuitBreakerFactory

from clinicflow.adapters._resilience import BreakerState, CircuitBreaker, RetryPolicy, resilient
from clinicflow.adapters.payment_gateways._common import PAYMENT_OUTAGES
from clinicflow.payments.ports import (
    GatewayEvent,
    GatewayPayment,
    GatewayRecord,
    GatewayRefund,
    GatewayRefundRequest,
    PaymentGateway,
    PaymentRequest,
)

__all__ = ["BreakerState", "CircuitBreaker", "ResilientGateway", "RetryPolicy", "gateway_breaker"]


def gateway_breaker(
    name: str,
    *,
    threshold: int = 5,
    reset_after: float = 30.0,
    factory: AsyncCircuitBreakerFactory | None = None,
) -> CircuitBreaker:
    """Counts only `GatewayUnavailable` as an outage; a decline proves the gateway is up."""
    return CircuitBreaker(
        name,
        outages=PAYMENT_OUTAGES,
        threshold=threshold,
        reset_after=reset_after,
        factory=factory,
    )


class ResilientGateway:
    def __init__(
        self, inner: PaymentGateway, breaker: CircuitBreaker, policy: RetryPolicy | None = None
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self._policy = policy

    def __repr__(self) -> str:
        return f"ResilientGateway({self.inner!r})"

    @property
    def provider(self) -> str:
        return self.inner.provider

    async def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        return await resilient(
            lambda: self.inner.create_payment(request), self.breaker, self._policy
        )

    async def capture(self, provider_id: str, idempotency_key: str) -> GatewayPayment:
        return await resilient(
            lambda: self.inner.capture(provider_id, idempotency_key), self.breaker, self._policy
        )

    async def retrieve(self, provider_id: str) -> GatewayPayment:
        return await resilient(lambda: self.inner.retrieve(provider_id), self.breaker, self._policy)

    async def cancel(self, provider_id: str) -> GatewayPayment:
        return await resilient(lambda: self.inner.cancel(provider_id), self.breaker, self._policy)

    async def refund(self, request: GatewayRefundRequest) -> GatewayRefund:
        return await resilient(lambda: self.inner.refund(request), self.breaker, self._policy)

    async def records(
        self, since: datetime, provider_ids: Collection[str] = ()
    ) -> AsyncIterator[GatewayRecord]:
        async for record in self.inner.records(since, provider_ids):
            yield record

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        return await self.inner.parse_webhook(headers, body)
