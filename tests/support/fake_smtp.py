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

    async def text_to(self, address: str, containing: str, *, seen: int = 0) -> str:
        """The plain text of the newest message to `address` whose text has `containing`,
        once more than `seen` such messages have come (within 10 s; mail goes out after the
        answer or from the bus, so a test waits for it)."""
        for _ in range(100):
            found = []
            for message in self.messages():
                if address in str(message["To"]):
                    body = message.get_body(preferencelist=("plain",))
                    text = str(body.get_content()) if body else ""
                    if containing in text:
                        found.append(text)
            if len(found) > seen:
                return found[-1]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no email to {address} with {containing!r} within 10 s")

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
