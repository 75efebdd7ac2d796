"""What notifications need from outside: an email, an SMS and a push provider.

Adapters raise only the errors below, so a caller decides retry, fallback or give-up without
knowing the vendor: `ProviderUnavailable` is worth trying again later (or elsewhere),
`MessageRejected` never is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar", "application/pdf" …
    content: bytes


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """What the browser's PushManager.subscribe() returned; keys are base64url."""

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class SendResult:
    provider: str  # "sendgrid", "smtp", "twilio", "webpush"
    provider_id: str | None  # the vendor's id, to match later status callbacks
    status: str  # "accepted" or "queued": the provider took it, delivery is not yet known


class DeliveryError(Exception):
    """A send that did not go through. Messages never contain the recipient."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.detail = detail


class ProviderUnavailable(DeliveryError):
    """Transient: timeout, connection failure, 5xx, 429, or the circuit is open."""

    def __init__(self, provider: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(provider, detail)
        self.retry_after = retry_after  # seconds, when the provider said so


class CircuitOpen(ProviderUnavailable):
    """Recent calls failed so often that this one was not even attempted."""


class MessageRejected(DeliveryError):
    """Permanent: the provider refused this message (invalid number, bad sender …)."""

    def __init__(self, provider: str, detail: str, code: str | None = None) -> None:
        super().__init__(provider, detail)
        self.code = code  # the vendor's error code, when it gives one


class SubscriptionGone(MessageRejected):
    """The push subscription expired or was revoked (404/410): delete it."""


class EmailSender(Protocol):
    async def send_email(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> SendResult: ...


class SmsSender(Protocol):
    async def send_sms(
        self, to_e164: str, body: str, status_callback: str | None = None
    ) -> SendResult: ...


class PushSender(Protocol):
    async def send_push(
        self, subscription: PushSubscription, payload: bytes, ttl: int
    ) -> SendResult: ...
