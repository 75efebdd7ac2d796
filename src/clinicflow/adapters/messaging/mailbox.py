"""The embedded default email provider: each message becomes an .eml file in a local folder.

Used when neither SendGrid nor SMTP is configured, for every email the clinic sends (booking
messages with their .ics, receipts, sign-in links, waitlist invitations), so a clinic without
a mail server can still open them (any mail client reads .eml). The files hold sign-in links,
so only the service's own user may read them. A message counts as delivered once its file is
in place: the folder is where it was meant to arrive.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC
from email.message import EmailMessage
from pathlib import Path

from clinicflow.adapters.messaging.smtp_email import compose_email
from clinicflow.notifications.ports import Email, SendResult
from clinicflow.shared.clock import Clock, SystemClock

PROVIDER = "mailbox"
_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600


class MailboxEmail:
    def __init__(self, directory: Path, sender: str, clock: Clock | None = None) -> None:
        self._directory = directory
        self._sender = sender
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"MailboxEmail(directory={str(self._directory)!r})"

    async def send_email(self, email: Email) -> SendResult:
        at = self._clock.now()
        message = compose_email(self._sender, email, at)
        name = f"{at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4()}.eml"
        await asyncio.to_thread(self._write, name, message)
        return SendResult(PROVIDER, str(message["Message-ID"]), "delivered")

    def _write(self, name: str, message: EmailMessage) -> None:
        self._directory.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
        os.chmod(self._directory, _DIRECTORY_MODE)
        # Written under a hidden name and renamed, so a reader never sees half a message.
        partial = self._directory / f".{name}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        try:
            os.fchmod(fd, _FILE_MODE)  # exactly 0600, whatever the umask
            with os.fdopen(fd, "wb") as file:
                file.write(message.as_bytes())
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, self._directory / name)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
