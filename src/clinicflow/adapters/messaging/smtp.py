"""Identity's plain `Mailer` (sign-in links) over the same SMTP adapter notifications use."""

from __future__ import annotations

from clinicflow.adapters.messaging.smtp_email import SmtpEmail
from clinicflow.shared.clock import Clock


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
        self._email = SmtpEmail(host, port, sender, username, password, starttls, timeout, clock)

    def __repr__(self) -> str:
        return f"SmtpMailer({self._email!r})"

    async def send(self, to: str, subject: str, text: str) -> None:
        await self._email.send_email(to, subject, text)
