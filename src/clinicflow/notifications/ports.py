"""What notifications need from outside: an email, an SMS and a push provider, the patients'
contact book and consent, booking's word on a visit, the audit trail; and its own unit of
work (`NotificationsUnitOfWork`), whose repositories each aggregate's `ports.py` declares.

Adapters raise only the errors below, so a caller decides retry, fallback or give-up without
knowing the vendor: `ProviderUnavailable` is worth trying again later (or elsewhere),
`MessageRejected` never is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from clinicflow.booking import BookingNow
from clinicflow.infra.audit_trail import Access
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.notifications.domain.messages import DeliveryReport as DeliveryReport
from clinicflow.notifications.domain.messages import MessageStatus as MessageStatus
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.notifications.domain.render import Rendered
from clinicflow.notifications.messages.ports import MessageLog, Messages
from clinicflow.notifications.push.ports import PushSubscriptions
from clinicflow.notifications.reminders.ports import Reminders
from clinicflow.shared.actor import Actor


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar", "application/pdf" …
    content: bytes


@dataclass(frozen=True, slots=True)
class Email:
    """One email as every sender takes it. `message_id`: the RFC 5322 Message-ID to send with
    ("<id@domain>"), the same on every attempt at one message, so mail systems collapse a copy
    sent again after a crash; None lets the adapter make a new one."""

    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: Sequence[Attachment] = ()
    message_id: str | None = None


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
    async def send_email(self, email: Email) -> SendResult: ...


class SmsSender(Protocol):
    async def send_sms(
        self, to_e164: str, body: str, status_callback: str | None = None
    ) -> SendResult: ...


class PushSender(Protocol):
    async def send_push(
        self, subscription: PushSubscription, payload: bytes, ttl: int
    ) -> SendResult: ...


# What comes back from the providers: delivery reports and replies, and consent changes.

SmsIntent = Literal["opt_out", "opt_in", "message"]


@dataclass(frozen=True, slots=True)
class IncomingSms:
    sender: str  # E.164, as the provider gives it
    intent: SmsIntent


class SmsWebhooks(Protocol):
    """An SMS provider's signed webhooks: status callbacks and incoming messages."""

    def authentic(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        """`url`: the full URL the provider requested, query string included."""
        ...

    def status_report(self, params: Mapping[str, str]) -> DeliveryReport | None:
        """None for a status that changes nothing here; ValueError when malformed."""
        ...

    def incoming(self, params: Mapping[str, str]) -> IncomingSms:
        """ValueError when malformed."""
        ...


class EmailEvents(Protocol):
    """An email provider's event webhook (SendGrid's Signed Event Webhook)."""

    def authentic(self, body: bytes, headers: Mapping[str, str]) -> bool: ...

    def reports(self, body: bytes) -> list[DeliveryReport]:
        """The events that say something about delivery; ValueError when malformed."""
        ...


class ConsentRegistry(Protocol):
    """Where patients' contact consent lives (the patients context)."""

    async def withdraw_sms(self, phone_e164: str, at: datetime) -> int:
        """SMS consent withdrawn for every patient with this number; how many changed."""
        ...

    async def restore_sms(self, phone_e164: str, at: datetime) -> int:
        """SMS consent given again by patients with this number who had given and then
        withdrawn it; how many changed."""
        ...


class Reachable(Protocol):
    """A patient's addresses and per-channel consent, opened for the moment of sending."""

    @property
    def email(self) -> str | None: ...

    @property
    def phone(self) -> str | None: ...

    @property
    def prefs(self) -> Mapping[str, Any]: ...


class Contacts(Protocol):
    """The patients context's contact book, in the unit of work's transaction: how to reach
    one patient (None if unknown)."""

    async def reach(self, patient_id: str) -> Reachable | None: ...


class Bookings(Protocol):
    """Booking's word on a booking as it stands, in the unit of work's transaction."""

    async def now(self, booking_id: str) -> BookingNow | None: ...


class NotificationsUnitOfWork(Transaction, Protocol):
    """One transaction of the notifications context, with its repositories."""

    @property
    def messages(self) -> Messages: ...

    @property
    def message_log(self) -> MessageLog: ...

    @property
    def reminders(self) -> Reminders: ...

    @property
    def push(self) -> PushSubscriptions: ...

    @property
    def contacts(self) -> Contacts: ...

    @property
    def bookings(self) -> Bookings: ...


class Trail(Protocol):
    """The audit trail's own transactions: reads, and refusals of a role (infra.audit_trail)."""

    async def record_alone(self, actor: Actor, action: str, accesses: Iterable[Access]) -> None: ...

    async def require_role(
        self, actor: Actor, allowed: bool, action: str, access: Access, detail: str
    ) -> None: ...


# How a message leaves: one channel per way of reaching a patient.


@dataclass(frozen=True, slots=True)
class Outgoing:
    address: str
    rendered: Rendered
    attachments: tuple[Attachment, ...] = ()
    patient_id: str | None = None  # push: whose registered browsers to send to
    message_id: str | None = None  # email: the Message-ID header, the same on every attempt


class Channel(Protocol):
    name: str  # email | sms | push | local

    async def deliver(self, message: Outgoing) -> SendResult:
        """Raises `DeliveryError` (or anything else) when it could not send."""
        ...
