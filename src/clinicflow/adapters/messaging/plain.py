"""Identity's and the waitlist's plain `Mailer` (a subject and a text) over the clinic's one
email sender: the same providers, retries, fallback and local mailbox as booking messages."""

from __future__ import annotations

from clinicflow.notifications.ports import Email, EmailSender


class PlainMailer:
    def __init__(self, email: EmailSender) -> None:
        self._email = email

    def __repr__(self) -> str:
        return f"PlainMailer({self._email!r})"

    async def send(self, to: str, subject: str, text: str) -> None:
        await self._email.send_email(Email(to, subject, text))
