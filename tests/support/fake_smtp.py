"""A real SMTP server on loopback (aiosmtpd) that records each message, or refuses recipients
with a reply it is given."""

from __future__ import annotations

import asyncio
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class FakeSmtpRelay:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.rcpt_reply: str | None = None  # e.g. "550 5.1.1 No such user"
        self.controller = Controller(self, hostname="127.0.0.1", port=_free_port())
        self.port: int = self.controller.port

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(e.original_content, policy=policy.default) for e in self.envelopes
        ]

    async def mail(
        self, to: str, subject: str = "", *, having: str = "", more_than: int = 0
    ) -> list[str]:
        """The messages to `to` whose subject has `subject` and whose text has `having`, each
        as its subject, a newline and its plain text, oldest first. Waits (10 s at most) until
        more than `more_than` of them have come: the app sends after it has answered."""
        for _ in range(100):
            texts = [_text(m) for m in self.messages() if to in str(m["To"])]
            found = [t for t in texts if subject in t.partition("\n")[0] and having in t]
            if len(found) > more_than:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"no email to {to} ({subject!r}, {having!r}) within 10 s")

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return str(message["Subject"]) + "\n" + (body.get_content() if body else "")
