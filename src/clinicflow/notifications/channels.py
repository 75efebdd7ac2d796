"""How a rendered message leaves: channels over the provider ports in `ports.py`.

A planned channel with no provider configured falls back to the local channel: the message
is kept in the notifications table (the embedded default, readable at GET /v1/notifications)
rather than lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clinicflow.notifications.ports import Attachment, EmailSender, SendResult, SmsSender
from clinicflow.notifications.render import Rendered


@dataclass(frozen=True, slots=True)
class Outgoing:
    address: str
    rendered: Rendered
    attachments: tuple[Attachment, ...] = ()


class Channel(Protocol):
    name: str  # email | sms | push | local

    async def deliver(self, message: Outgoing) -> SendResult:
        """Raises `ports.DeliveryError` (or anything else) when it could not send."""
        ...


class EmailChannel:
    name = "email"

    def __init__(self, sender: EmailSender) -> None:
        self._sender = sender

    async def deliver(self, message: Outgoing) -> SendResult:
        r = message.rendered
        return await self._sender.send_email(
            message.address, r.subject, r.text, r.html, message.attachments
        )


class SmsChannel:
    name = "sms"

    def __init__(self, sender: SmsSender) -> None:
        self._sender = sender

    async def deliver(self, message: Outgoing) -> SendResult:
        return await self._sender.send_sms(message.address, message.rendered.text)


class LocalChannel:
    """Keeps the message in the table only; its text is rendered again when it is read."""

    name = "local"

    async def deliver(self, message: Outgoing) -> SendResult:
        return SendResult(provider="local", provider_id=None, status="delivered")
