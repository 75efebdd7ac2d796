"""The shared retries and circuit breaker (`clinicflow.adapters._resilience`), with messaging's
errors: `ProviderUnavailable` is an outage, an open circuit raises `CircuitOpen`."""

from __future__ import annotations

from purgatory import AsyncCircuitBreakerFactory

from clinicflow.adapters._resilience import BreakerState, Outages, RetryPolicy, resilient
from clinicflow.adapters._resilience import CircuitBreaker as _CircuitBreaker
from clinicflow.notifications.ports import CircuitOpen, ProviderUnavailable

__all__ = ["MESSAGING_OUTAGES", "BreakerState", "CircuitBreaker", "RetryPolicy", "resilient"]

MESSAGING_OUTAGES = Outages(transient=ProviderUnavailable, opened=CircuitOpen)


class CircuitBreaker(_CircuitBreaker):
    def __init__(
        self,
        name: str,
        *,
        threshold: int = 5,
        reset_after: float = 30.0,
        factory: AsyncCircuitBreakerFactory | None = None,
    ) -> None:
        super().__init__(
            name,
            outages=MESSAGING_OUTAGES,
            threshold=threshold,
            reset_after=reset_after,
            factory=factory,
        )
