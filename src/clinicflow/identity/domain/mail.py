"""Sign-in and verification emails as messages: headers that cannot be injected, and a
Message-ID made under the sender's domain (no DNS lookup). The sending is a port
(`identity.ports.Mailer`)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def compose(
    sender: str, to: str, subject: str, text: str, at: datetime, message_id: str | None = None
) -> EmailMessage:
    # EmailMessage refuses CR/LF in header values, which rules out header injection via `to`
    # or `subject`.
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    # An explicit domain: make_msgid would otherwise do a DNS lookup of this host's name.
    message["Message-ID"] = message_id or make_msgid(domain=mail_domain(sender))
    message.set_content(text)
    return message


def mail_domain(sender: str) -> str:
    """The domain Message-IDs are made under: the sender's."""
    return sender.rpartition("@")[2].rstrip(">").strip() or "clinicflow.invalid"
