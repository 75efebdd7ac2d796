"""The notifications `EmailSender` over an SMTP relay (aiosmtplib): HTML and attachments too.

Also the fallback when the email API is down, so its failures map onto the same errors:
no answer or a 4xx reply is `ProviderUnavailable`, a 5xx reply is `MessageRejected`.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

import aiosmtplib

from clinicflow.identity import compose
from clinicflow.notifications.ports import Email, MessageRejected, ProviderUnavailable, SendResult
from clinicflow.shared.clock import Clock, SystemClock

PROVIDER = "smtp"


def compose_email(sender: str, email: Email, at: datetime) -> EmailMessage:
    """The plain message identity sends, plus an HTML alternative and attachments. A content
    type may carry parameters (`text/calendar; method=REQUEST`), kept as MIME parameters."""
    message = compose(sender, email.to, email.subject, email.text, at, email.message_id)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    for item in email.attachments:
        maintype, _, rest = item.content_type.partition("/")
        subtype, _, params = rest.partition(";")
        key, _, value = params.strip().partition("=")
        message.add_attachment(
            item.content,
            maintype=maintype,
            subtype=subtype.strip() or "octet-stream",
            filename=item.filename,
            params={key.strip(): value.strip()} if key else None,
        )
    return message


class SmtpEmail:
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
        return f"SmtpEmail(host={self._host!r}, port={self._port}, sender={self._sender!r})"

    async def send_email(self, email: Email) -> SendResult:
        message = compose_email(self._sender, email, self._clock.now())
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        # Server texts often quote the address, so only codes make it into the errors.
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(refusal.code < 500 for refusal in exc.recipients):  # greylisting, full box
                raise ProviderUnavailable(PROVIDER, "recipient deferred") from exc
            raise MessageRejected(PROVIDER, "recipient refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise MessageRejected(PROVIDER, f"replied {exc.code}", str(exc.code)) from exc
            raise ProviderUnavailable(PROVIDER, f"replied {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ProviderUnavailable(PROVIDER, f"unreachable ({type(exc).__name__})") from exc
        return SendResult(PROVIDER, message["Message-ID"], "accepted")
