"""The embedded default mailer: each message becomes an .eml file in a local directory.

A clinic running without an SMTP server can still open the sign-in emails (any mail client
reads .eml). The files hold sign-in links, so only the service's own user may read them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC
from email.message import EmailMessage
from pathlib import Path

from clinicflow.identity.mailer import compose
from clinicflow.shared.clock import Clock, SystemClock

_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600


class MailboxMailer:
    def __init__(self, directory: Path, sender: str, clock: Clock | None = None) -> None:
        self._directory = directory
        self._sender = sender
        self._clock = clock or SystemClock()

    async def send(self, to: str, subject: str, text: str) -> None:
        at = self._clock.now()
        message = compose(self._sender, to, subject, text, at)
        name = f"{at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4()}.eml"
        await asyncio.to_thread(self._write, name, message)

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
            os.replace(partial, self._directory / name)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
