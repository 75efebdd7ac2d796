"""Retries (tenacity) and a circuit breaker (purgatory) around one provider call.

Shared by the adapter families (messaging, payment gateways). Each family names its own
errors through an `Outages`: which exception means "the provider is down" (retried, counted
against the circuit) and which one an open circuit raises. Any other error proves the
provider is up: it is neither retried nor counted. An open circuit fails at once and is not
retried here, so a caller can go to a fallback or put the work back on its queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import ExcludeType, OpenedState
from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt
from tenacity.wait import WaitBaseT, wait_exponential_jitter

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half-open"]

_STATES: dict[str, BreakerState] = {
    "closed": "closed",
    "opened": "open",
    "half-opened": "half-open",
}


@dataclass(frozen=True)
class Outages:
    """`opened` is built as `opened(provider_name, detail)`; it should subclass `transient`
    so callers that catch unavailability also catch an open circuit."""

    transient: type[Exception]
    opened: type[Exception]

    def is_outage(self, exc: BaseException) -> bool:
        return isinstance(exc, self.transient)

    def worth_retrying(self, exc: BaseException) -> bool:
        return isinstance(exc, self.transient) and not isinstance(exc, self.opened)


class CircuitBreaker:
    """One per provider. After `threshold` outages in a row the provider is not called for
    `reset_after` seconds; then it is half-open, and the next call closes or reopens it.

    State lives in purgatory's in-memory store by default; pass a factory built on
    `AsyncRedisUnitOfWork` to share it across replicas.
    """

    def __init__(
        self,
        name: str,
        *,
        outages: Outages,
        threshold: int = 5,
        reset_after: float = 30.0,
        factory: AsyncCircuitBreakerFactory | None = None,
    ) -> None:
        self.name = name
        self.outages = outages
        self._threshold = threshold
        self._reset_after = reset_after
        self._factory = factory or AsyncCircuitBreakerFactory()
        # purgatory counts every exception as a failure unless excluded: exclude all but outages.
        self._exclude: ExcludeType = [(BaseException, self._is_not_an_outage)]

    def _is_not_an_outage(self, exc: BaseException) -> bool:
        return not self.outages.is_outage(exc)

    async def state(self) -> BreakerState:
        """For metrics and health pages."""
        breaker = await self._breaker()
        return _STATES[breaker.context.state]

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        breaker = await self._breaker()
        try:
            async with breaker:
                return await operation()
        except OpenedState as exc:
            raise self.outages.opened(self.name, "circuit open: recent calls failed") from exc

    async def _breaker(self) -> AsyncCircuitBreaker:
        return await self._factory.get_breaker(
            self.name, self._threshold, self._reset_after, self._exclude
        )


def _default_wait() -> WaitBaseT:
    return wait_exponential_jitter(multiplier=0.5, max=8.0)


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` counts the first call. Tests pass `wait=tenacity.wait_none()`."""

    attempts: int = 3
    wait: WaitBaseT = field(default_factory=_default_wait)


async def resilient(
    operation: Callable[[], Awaitable[T]],
    breaker: CircuitBreaker,
    policy: RetryPolicy | None = None,
) -> T:
    policy = policy or RetryPolicy()
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=policy.wait,
        retry=retry_if_exception(breaker.outages.worth_retrying),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await breaker.call(operation)
    raise AssertionError("unreachable: tenacity re-raises the last error")
