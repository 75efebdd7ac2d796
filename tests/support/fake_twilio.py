"""A fake Twilio Messages API on loopback, and a webhook receiver to point callbacks at.

The fake checks Basic auth and the form fields, answers 201 with a Message resource, and can
POST a status callback to the message's StatusCallback URL, signed with X-Twilio-Signature as
Twilio computes it (its own implementation here, so the adapter's validator is really tested).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from email.utils import formatdate
from urllib.parse import urlencode

import httpx

from support.fake_http import Reply, Request, json_reply
from support.fake_vendor import FakeVendor, Loopback
from support.loopback_tls import loopback_tls

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    data = url
    for name in sorted(params):
        data += name + params[name]
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _error(status: int, code: int, message: str) -> Reply:
    return json_reply(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


class FakeTwilio(FakeVendor):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: dict[str, dict[str, str]] = {}
        self.retry_after: str | None = None  # Retry-After on 429 answers
        self.invalid_numbers: set[str] = set()

    def _handle(self, request: Request) -> Reply:
        forced = self._forced()
        if request.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return _error(404, 20404, "The requested resource was not found")
        basic = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {basic}":
            return _error(401, 20003, "Authenticate")
        if forced is not None:
            headers = (
                {"Retry-After": self.retry_after} if forced == 429 and self.retry_after else {}
            )
            reply = _error(forced, 20429 if forced == 429 else 20500, "Service unavailable")
            return Reply(reply.status, reply.headers | headers, reply.body)
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return _error(400, 20001, "Expected a form-encoded body")
        form = {name: values[-1] for name, values in request.form().items()}
        return self._create(form)

    def _create(self, form: dict[str, str]) -> Reply:
        to = form.get("To", "")
        if not E164.match(to) or to in self.invalid_numbers:
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if ("From" in form) == ("MessagingServiceSid" in form):
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if not form.get("Body"):
            return _error(400, 21602, "Message body is required.")
        sid = "SM" + uuid.uuid4().hex
        service = form.get("MessagingServiceSid")
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "status": "accepted" if service else "queued",
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": service,
            "body": form["Body"],
            "num_segments": "1",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "date_created": formatdate(usegmt=True),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.messages[sid] = {"StatusCallback": "", **form}
        return json_reply(201, message)

    async def post_status_callback(
        self, sid: str, status: str, error_code: str | None = None
    ) -> httpx.Response:
        """Twilio's status callback for a message it accepted, signed as Twilio signs it."""
        sent = self.messages[sid]
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": self.account_sid,
            "To": sent["To"],
            "From": sent.get("From") or "+15005550006",
            "ApiVersion": "2010-04-01",
        }
        if error_code is not None:
            params["ErrorCode"] = error_code
        url = sent["StatusCallback"]
        headers = {
            "X-Twilio-Signature": sign(self.auth_token, url, params),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        async with httpx.AsyncClient(verify=loopback_tls(), trust_env=False, timeout=5) as client:
            return await client.post(url, content=urlencode(params), headers=headers)


class WebhookReceiver(Loopback):
    """Stands in for clinicflow's webhook endpoint: records each request, answers 200."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Request] = []

    def _handle(self, request: Request) -> Reply:
        self.received.append(request)
        return Reply(200, {"Content-Type": "text/xml"}, b"<Response/>")
