"""Email through SendGrid's v3 Mail Send API (`POST /v3/mail/send`)."""

from __future__ import annotations

import base64
from email.utils import parseaddr
from typing import Any

import httpx

from clinicflow.adapters.messaging._http import is_transient, json_or_none, post, scrub, unavailable
from clinicflow.notifications.ports import Email, MessageRejected, SendResult

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

    async def send_email(self, email: Email) -> SendResult:
        body = mail_body(self._sender, email)
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
        detail = scrub(error_text(response), email.to)
        raise MessageRejected(PROVIDER, detail, code=str(response.status_code))


def mail_body(sender: str, email: Email) -> dict[str, Any]:
    """`email.message_id`: sent as the mail's Message-ID header. Mail Send has no idempotency
    key, so a request repeated after a crash is sent again; the same Message-ID lets the
    recipient's mail system treat the two as one message."""
    name, address = parseaddr(sender)
    from_: dict[str, str] = {"email": address or sender}
    if name:
        from_["name"] = name
    # text/plain must come before text/html in `content`.
    content = [{"type": "text/plain", "value": email.text}]
    if email.html is not None:
        content.append({"type": "text/html", "value": email.html})
    body: dict[str, Any] = {
        "personalizations": [{"to": [{"email": email.to}]}],
        "from": from_,
        "subject": email.subject,
        "content": content,
    }
    if email.message_id is not None:
        body["headers"] = {"Message-ID": email.message_id}
    if email.attachments:
        body["attachments"] = [
            {
                "content": base64.b64encode(item.content).decode("ascii"),
                "filename": item.filename,
                "type": item.content_type,
                "disposition": "attachment",
            }
            for item in email.attachments
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
