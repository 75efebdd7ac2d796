"""Deliver mail through an SMTP relay with aiosmtplib."""

from __future__ import annotations

import aiosmtplib

from clinicflow.identity.mailer import compose
from clinicflow.shared.clock import Clock, SystemClock


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10,
        clock: Clock | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        # Keeps the password out of logs and tracebacks that print the object.
        return f"SmtpMailer(host={self._host!r}, port={self._port}, sender={self._sender!r})"

    async def send(self, to: str, subject: str, text: str) -> None:
        message = compose(self._sender, to, subject, text, self._clock.now())
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            start_tls=self._starttls,
            timeout=self._timeout,
        )
