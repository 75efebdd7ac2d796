"""Ports wrapped in retries and a circuit breaker, and an email sender with a fallback.

bootstrap composes them, e.g.
`FallbackEmail(ResilientEmail(SendGridEmail(…), CircuitBreaker("sendgrid")), SmtpEmail(…))`:
SendGrid down or its circuit open → the message goes through SMTP.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from clinicflow.adapters.messaging._resilience import (
    BreakerState,
    CircuitBreaker,
    RetryPolicy,
    resilient,
)
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.notifications.ports import (
    Attachment,
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


class ResilientEmail:
    def __init__(
        self, inner: EmailSender, breaker: CircuitBreaker, policy: RetryPolicy | None = None
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self._policy = policy

    async def send_email(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
        *,
        message_id: str | None = None,
    ) -> SendResult:
        return await resilient(
            lambda: self.inner.send_email(
                to, subject, text, html, attachments, message_id=message_id
            ),
            self.breaker,
            self._policy,
        )


class ResilientSms:
    def __init__(
        self, inner: SmsSender, breaker: CircuitBreaker, policy: RetryPolicy | None = None
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self._policy = policy

    async def send_sms(
        self, to_e164: str, body: str, status_callback: str | None = None
    ) -> SendResult:
        return await resilient(
            lambda: self.inner.send_sms(to_e164, body, status_callback),
            self.breaker,
            self._policy,
        )


class ResilientPush:
    def __init__(
        self, inner: PushSender, breaker: CircuitBreaker, policy: RetryPolicy | None = None
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self._policy = policy

    async def send_push(
        self, subscription: PushSubscription, payload: bytes, ttl: int
    ) -> SendResult:
        return await resilient(
            lambda: self.inner.send_push(subscription, payload, ttl),
            self.breaker,
            self._policy,
        )


class FallbackEmail:
    """The primary, unless it is unavailable (after its own retries) or its circuit is open.

    A rejection (`MessageRejected`) is not retried elsewhere: the other provider would refuse
    the same address, and sending twice is worse than not at all.
    """

    def __init__(self, primary: EmailSender, secondary: EmailSender) -> None:
        self.primary = primary
        self.secondary = secondary

    async def send_email(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
        *,
        message_id: str | None = None,
    ) -> SendResult:
        try:
            return await self.primary.send_email(
                to, subject, text, html, attachments, message_id=message_id
            )
        except ProviderUnavailable as exc:
            # No recipient here: the error's detail never carries one (ports.DeliveryError).
            log.warning("email_fallback", provider=exc.provider, reason=exc.detail)
        return await self.secondary.send_email(
            to, subject, text, html, attachments, message_id=message_id
        )
