"""Email through SendGrid's v3 Mail Send API (`POST /v3/mail/send`)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

import httpx

from clinicflow.adapters.messaging._http import is_transient, json_or_none, post, scrub, unavailable
from clinicflow.notifications.ports import Attachment, MessageRejected, SendResult

PROVIDER = "sendgrid"


class SendGridEmail:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: str,
        sender: str,
        base_url: str = "https://api.sendgrid.com",
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._sender = sender
        self._url = f"{base_url.rstrip('/')}/v3/mail/send"

    def __repr__(self) -> str:
        # Keeps the API key out of logs and tracebacks that print the object.
        return f"SendGridEmail(url={self._url!r}, sender={self._sender!r})"

    async def send_email(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
        *,
        message_id: str | None = None,
    ) -> SendResult:
        body = mail_body(self._sender, to, subject, text, html, attachments, message_id)
        response = await post(
            self._http,
            PROVIDER,
            self._url,
            json=body,
            headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"},
        )
        if response.is_success:  # 202 Accepted, empty body
            return SendResult(PROVIDER, response.headers.get("X-Message-Id"), "accepted")
        if is_transient(response.status_code):
            raise unavailable(PROVIDER, response)
        detail = scrub(error_text(response), to)
        raise MessageRejected(PROVIDER, detail, code=str(response.status_code))


def mail_body(
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: Sequence[Attachment],
    message_id: str | None = None,
) -> dict[str, Any]:
    """`message_id`: sent as the mail's Message-ID header. Mail Send has no idempotency key,
    so a request repeated after a crash is sent again; the same Message-ID lets the
    recipient's mail system treat the two as one message."""
    name, email = parseaddr(sender)
    from_: dict[str, str] = {"email": email or sender}
    if name:
        from_["name"] = name
    # text/plain must come before text/html in `content`.
    content = [{"type": "text/plain", "value": text}]
    if html is not None:
        content.append({"type": "text/html", "value": html})
    body: dict[str, Any] = {
        "personalizations": [{"to": [{"email": to}]}],
        "from": from_,
        "subject": subject,
        "content": content,
    }
    if message_id is not None:
        body["headers"] = {"Message-ID": message_id}
    if attachments:
        body["attachments"] = [
            {
                "content": base64.b64encode(item.content).decode("ascii"),
                "filename": item.filename,
                "type": item.content_type,
                "disposition": "attachment",
            }
            for item in attachments
        ]
    return body


def error_text(response: httpx.Response) -> str:
    """SendGrid's `errors[].message` (with `field` when it names one), joined."""
    payload = json_or_none(response)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    parts = []
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            field = error.get("field")
            parts.append(f"{error['message']} ({field})" if field else error["message"])
    return "; ".join(parts) or f"answered {response.status_code}"
