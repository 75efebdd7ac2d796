"""How a rendered message leaves: channels over the provider ports in `ports.py`.

A planned channel with no provider configured falls back to the local channel: the message
is kept in the notifications table (the embedded default, readable at GET /v1/notifications)
rather than lost. A mail port of identity's shape (`send(to, subject, text)`, no attachments)
can be adapted with `PlainMailerSender`: the email goes, without the invitation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
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


class PlainMailer(Protocol):
    async def send(self, to: str, subject: str, text: str) -> None: ...


class PlainMailerSender:
    """identity's Mailer (SMTP or the local .eml mailbox) as an EmailSender, text only."""

    def __init__(self, mailer: PlainMailer, provider: str = "mailer") -> None:
        self._mailer = mailer
        self._provider = provider

    async def send_email(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> SendResult:
        await self._mailer.send(to, subject, text)
        return SendResult(provider=self._provider, provider_id=None, status="accepted")


def compose(
    sender: str,
    to: str,
    subject: str,
    text: str,
    at: datetime,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A MIME message: text, an optional HTML alternative, attachments. EmailMessage refuses
    CR/LF in headers, which rules out header injection through `to` or `subject`."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "clinicflow.invalid")
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        subtype, _, params = subtype.partition(";")
        key, _, value = params.strip().partition("=")
        message.add_attachment(
            item.content,
            maintype=maintype,
            subtype=subtype.strip(),
            filename=item.filename,
            params={key.strip(): value.strip()} if key else None,
        )
    return message
