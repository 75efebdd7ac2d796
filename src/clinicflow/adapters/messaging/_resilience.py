"""Retries (tenacity) and a circuit breaker (purgatory) around one provider call.

Only `ProviderUnavailable` is retried and only it counts against the circuit: a rejected
message proves the provider is up. An open circuit fails at once with `CircuitOpen`, which is
not retried here, so a caller can go to a fallback or put the message back on its queue.
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

from clinicflow.notifications.ports import CircuitOpen, ProviderUnavailable

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half-open"]

_STATES: dict[str, BreakerState] = {
    "closed": "closed",
    "opened": "open",
    "half-opened": "half-open",
}


def _is_not_an_outage(exc: BaseException) -> bool:
    return not isinstance(exc, ProviderUnavailable)


# purgatory counts every exception as a failure unless excluded: exclude all but outages.
_ONLY_OUTAGES: ExcludeType = [(BaseException, _is_not_an_outage)]


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
        threshold: int = 5,
        reset_after: float = 30.0,
        factory: AsyncCircuitBreakerFactory | None = None,
    ) -> None:
        self.name = name
        self._threshold = threshold
        self._reset_after = reset_after
        self._factory = factory or AsyncCircuitBreakerFactory()

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
            raise CircuitOpen(self.name, "circuit open: recent calls failed") from exc

    async def _breaker(self) -> AsyncCircuitBreaker:
        return await self._factory.get_breaker(
            self.name, self._threshold, self._reset_after, _ONLY_OUTAGES
        )


def _default_wait() -> WaitBaseT:
    return wait_exponential_jitter(initial=0.5, max=8.0)


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` counts the first call. Tests pass `wait=tenacity.wait_none()`."""

    attempts: int = 3
    wait: WaitBaseT = field(default_factory=_default_wait)


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, ProviderUnavailable) and not isinstance(exc, CircuitOpen)


async def resilient(
    operation: Callable[[], Awaitable[T]],
    breaker: CircuitBreaker,
    policy: RetryPolicy | None = None,
) -> T:
    policy = policy or RetryPolicy()
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=policy.wait,
        retry=retry_if_exception(_worth_retrying),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await breaker.call(operation)
    raise AssertionError("unreachable: tenacity re-raises the last error")
