"""How a rendered message leaves: channels over the provider ports in `ports.py`.

A planned channel with no provider configured falls back to the local channel: the message
is kept in the notifications table (readable at GET /v1/notifications) rather than lost. That
is SMS without Twilio; email always has a sender (at least the local mailbox). Push is the
exception: without a push provider none is planned at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.notifications.ports import (
    DeliveryError,
    Email,
    EmailSender,
    NotificationsUnitOfWork,
    Outgoing,
    PushSender,
    SendResult,
    SmsSender,
    SubscriptionGone,
)
from clinicflow.shared.clock import Clock


class EmailChannel:
    name = "email"

    def __init__(self, sender: EmailSender) -> None:
        self._sender = sender

    async def deliver(self, message: Outgoing) -> SendResult:
        r = message.rendered
        return await self._sender.send_email(
            Email(
                message.address,
                r.subject,
                r.text,
                r.html,
                message.attachments,
                message_id=message.message_id,
            )
        )


class SmsChannel:
    name = "sms"

    def __init__(self, sender: SmsSender, status_callback: str | None = None) -> None:
        """`status_callback`: where the provider reports delivery (callbacks/api.py
        TWILIO_STATUS under the public URL); None asks for no reports."""
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


@dataclass(kw_only=True, eq=False)
class PushChannel:
    """One message goes to every browser the patient registered. A browser whose subscription
    is gone (404/410) is deleted. The message counts as sent when at least one browser took
    it: sending it again for another browser's outage would show it twice on the others.
    The browsers are read, and forgotten or marked used, in short transactions of their own:
    none is open during a push service's call."""

    name = "push"

    sender: PushSender
    uow: UnitsOfWork[NotificationsUnitOfWork]
    clock: Clock
    ttl: int

    async def deliver(self, message: Outgoing) -> SendResult:
        data = dict(message.rendered.data or {})
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        took: list[SendResult] = []
        used: list[str] = []
        gone: list[str] = []
        errors: list[DeliveryError] = []
        async with self.uow.reading() as uow:
            devices = await uow.push.of(message.patient_id or "")
        for device in devices:
            try:
                took.append(await self.sender.send_push(device.subscription, payload, self.ttl))
                used.append(device.id)
            except SubscriptionGone:
                gone.append(device.id)
            except DeliveryError as exc:
                errors.append(exc)
        if gone or used:
            async with self.uow() as uow:
                await uow.push.forget(gone)
                await uow.push.used(used, self.clock.now())
                await uow.commit()
        if took:
            # No provider id kept: a push service's message URL can embed the subscription.
            return SendResult(took[0].provider, None, took[0].status)
        if errors:
            raise errors[0]
        raise SubscriptionGone(
            "push", f"no push subscription left ({len(gone)} gone and deleted)", code="gone"
        )
