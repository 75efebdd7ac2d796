"""Ports wrapped in retries and a circuit breaker, and an email sender with a fallback.

bootstrap composes them, e.g.
`FallbackEmail(ResilientEmail(SendGridEmail(…), CircuitBreaker("sendgrid")), SmtpEmail(…))`:
SendGrid down or its circuit open → the message goes through SMTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

from clinicflow.adapters.messaging._resilience import (
    BreakerState,
    CircuitBreaker,
    RetryPolicy,
    resilient,
)
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.notifications.ports import (
    Email,
    EmailSender,
    ProviderUnavailable,
    PushSender,
    SendResult,
    SmsSender,
)

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "FallbackEmail",
    "ResilientEmail",
    "ResilientPush",
    "ResilientSms",
    "RetryPolicy",
]

log = structlog.get_logger(__name__)
P = TypeVar("P")  # the provider port wrapped


class _Resilient(Generic[P]):
    """One provider port behind `resilient`: its calls are retried and go through the breaker."""

    def __init__(
        self, inner: P, breaker: CircuitBreaker, policy: RetryPolicy | None = None
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self._policy = policy

    async def _call(self, operation: Callable[[], Awaitable[SendResult]]) -> SendResult:
        return await resilient(operation, self.breaker, self._policy)


class ResilientEmail(_Resilient[EmailSender]):
    async def send_email(self, email: Email) -> SendResult:
        return await self._call(lambda: self.inner.send_email(email))


class ResilientSms(_Resilient[SmsSender]):
    async def send_sms(
        self, to_e164: str, body: str, status_callback: str | None = None
    ) -> SendResult:
        return await self._call(lambda: self.inner.send_sms(to_e164, body, status_callback))


class ResilientPush(_Resilient[PushSender]):
    async def send_push(
        self, subscription: PushSubscription, payload: bytes, ttl: int
    ) -> SendResult:
        return await self._call(lambda: self.inner.send_push(subscription, payload, ttl))


class FallbackEmail:
    """The primary, unless it is unavailable (after its own retries) or its circuit is open.

    A rejection (`MessageRejected`) is not retried elsewhere: the other provider would refuse
    the same address, and sending twice is worse than not at all.
    """

    def __init__(self, primary: EmailSender, secondary: EmailSender) -> None:
        self.primary = primary
        self.secondary = secondary

    async def send_email(self, email: Email) -> SendResult:
        try:
            return await self.primary.send_email(email)
        except ProviderUnavailable as exc:
            # No recipient here: the error's detail never carries one (ports.DeliveryError).
            log.warning("email_fallback", provider=exc.provider, reason=exc.detail)
        return await self.secondary.send_email(email)
