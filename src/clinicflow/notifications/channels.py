"""How a rendered message leaves: channels over the provider ports in `ports.py`.

A planned channel with no provider configured falls back to the local channel: the message
is kept in the notifications table (readable at GET /v1/notifications) rather than lost. That
is SMS without Twilio; email always has a sender (at least the local mailbox). Push is the
exception: without a push provider none is planned at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from clinicflow.notifications.ports import (
    Attachment,
    DeliveryError,
    EmailSender,
    PushSender,
    SendResult,
    SmsSender,
    SubscriptionGone,
)
from clinicflow.notifications.push import Device
from clinicflow.notifications.render import Rendered


@dataclass(frozen=True, slots=True)
class Outgoing:
    address: str
    rendered: Rendered
    attachments: tuple[Attachment, ...] = ()
    patient_id: str | None = None  # push: whose registered browsers to send to
    message_id: str | None = None  # email: the Message-ID header, the same on every attempt


def message_id_header(message_id: str, sender: str | None) -> str:
    """The RFC 5322 Message-ID of one message row: derived from its id (a UUID, so unique)
    under the sender's domain, and therefore the same when a send is repeated after a crash."""
    domain = (sender or "").rpartition("@")[2].strip().rstrip(">").strip()
    return f"<{message_id}@{domain or 'clinicflow.invalid'}>"


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
            message.address,
            r.subject,
            r.text,
            r.html,
            message.attachments,
            message_id=message.message_id,
        )


class SmsChannel:
    name = "sms"

    def __init__(self, sender: SmsSender, status_callback: str | None = None) -> None:
        """`status_callback`: where the provider reports delivery (provider_api.TWILIO_STATUS
        under the public URL); None asks for no reports."""
        self._sender = sender
        self._status_callback = status_callback

    async def deliver(self, message: Outgoing) -> SendResult:
        return await self._sender.send_sms(
            message.address, message.rendered.text, self._status_callback
        )


class LocalChannel:
    """Keeps the message in the table only; its text is rendered again when it is read."""

    name = "local"

    async def deliver(self, message: Outgoing) -> SendResult:
        return SendResult(provider="local", provider_id=None, status="delivered")


class PushDevices(Protocol):
    async def of(self, patient_id: str) -> list[Device]: ...

    async def forget(self, device_ids: Sequence[str]) -> None: ...

    async def used(self, device_ids: Sequence[str]) -> None: ...


class PushChannel:
    """One message goes to every browser the patient registered. A browser whose subscription
    is gone (404/410) is deleted. The message counts as sent when at least one browser took
    it: sending it again for another browser's outage would show it twice on the others."""

    name = "push"

    def __init__(self, sender: PushSender, devices: PushDevices, ttl: int) -> None:
        self._sender = sender
        self._devices = devices
        self._ttl = ttl

    async def deliver(self, message: Outgoing) -> SendResult:
        data = dict(message.rendered.data or {})
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        took: list[SendResult] = []
        used: list[str] = []
        gone: list[str] = []
        errors: list[DeliveryError] = []
        for device in await self._devices.of(message.patient_id or ""):
            try:
                took.append(await self._sender.send_push(device.subscription, payload, self._ttl))
                used.append(device.id)
            except SubscriptionGone:
                gone.append(device.id)
            except DeliveryError as exc:
                errors.append(exc)
        await self._devices.forget(gone)
        await self._devices.used(used)
        if took:
            # No provider id kept: a push service's message URL can embed the subscription.
            return SendResult(took[0].provider, None, took[0].status)
        if errors:
            raise errors[0]
        raise SubscriptionGone(
            "push", f"no push subscription left ({len(gone)} gone and deleted)", code="gone"
        )
