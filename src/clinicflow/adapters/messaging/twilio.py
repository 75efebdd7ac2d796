"""SMS through Twilio Programmable Messaging, and the webhooks Twilio sends back.

Outbound: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, Basic auth.
Inbound: status callbacks and incoming messages, both form posts signed with
`X-Twilio-Signature` (check it with `validate_twilio_signature` before parsing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from clinicflow.adapters.messaging._http import is_transient, json_or_none, post, scrub, unavailable
from clinicflow.notifications.ports import MessageRejected, SendResult

PROVIDER = "twilio"

SmsStatus = Literal["queued", "sent", "delivered", "failed", "undelivered"]
Intent = Literal["opt_out", "opt_in", "message"]

# Twilio's message statuses folded onto the five a clinic acts on.
_STATUSES: dict[str, SmsStatus] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "failed": "failed",
    "canceled": "failed",
    "undelivered": "undelivered",
    "partially_delivered": "undelivered",
}
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN = frozenset({"START", "UNSTOP"})
_DEFAULT_PORTS = {"https": 443, "http": 80}


class TwilioSms:
    def __init__(
        self,
        http: httpx.AsyncClient,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = "https://api.twilio.com",
    ) -> None:
        """`sender` is an E.164 number, or a Messaging Service SID ("MG…")."""
        self._http = http
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._sender = sender
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"

    def __repr__(self) -> str:
        # Keeps the auth token out of logs and tracebacks that print the object.
        return f"TwilioSms(url={self._url!r}, sender={self._sender!r})"

    async def send_sms(
        self, to_e164: str, body: str, status_callback: str | None = None
    ) -> SendResult:
        form = {"To": to_e164, "Body": body}
        form["MessagingServiceSid" if self._sender.startswith("MG") else "From"] = self._sender
        if status_callback is not None:
            form["StatusCallback"] = status_callback
        response = await post(self._http, PROVIDER, self._url, data=form, auth=self._auth)
        payload = json_or_none(response)
        if response.is_success and isinstance(payload, dict) and payload.get("sid"):
            status = _STATUSES.get(str(payload.get("status")), "queued")
            return SendResult(PROVIDER, str(payload["sid"]), status)
        if is_transient(response.status_code):
            raise unavailable(PROVIDER, response)
        code, message = _error(payload, response.status_code)
        raise MessageRejected(PROVIDER, scrub(message, to_e164), code=code)


def _error(payload: object, status: int) -> tuple[str | None, str]:
    if not isinstance(payload, dict):
        return None, f"answered {status}"
    code = payload.get("code")
    message = payload.get("message")
    return (
        str(code) if code is not None else None,
        message if isinstance(message, str) else f"answered {status}",
    )


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """base64(HMAC-SHA1(auth token, URL + each param's name+value in name order))."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def validate_twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str], signature: str
) -> bool:
    """`url` is the full URL Twilio requested, query string included, exactly as sent.

    Form posts only (one value per name, as in SMS callbacks); JSON bodies signed with
    `bodySHA256` are not handled here.
    """
    given = signature.encode()
    return any(
        hmac.compare_digest(twilio_signature(auth_token, candidate, params).encode(), given)
        for candidate in _with_and_without_default_port(url)
    )


def _with_and_without_default_port(url: str) -> list[str]:
    # Twilio sometimes signs https://host:443/… and sometimes https://host/…; try both.
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return [url]
    if default is None:
        return [url]
    if port is None:
        return [url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))]
    if port == default:
        return [url, urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))]
    return [url]


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    provider_id: str
    status: SmsStatus
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider_id: str | None
    sender: str
    body: str
    intent: Intent


def parse_status_callback(params: Mapping[str, str]) -> StatusUpdate:
    sid = params.get("MessageSid") or params.get("SmsSid")
    raw = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not raw:
        raise ValueError("not a Twilio status callback: MessageSid and MessageStatus needed")
    status = _STATUSES.get(raw)
    if status is None:
        raise ValueError(f"unknown Twilio message status {raw!r}")
    return StatusUpdate(sid, status, params.get("ErrorCode") or None)


def parse_inbound(params: Mapping[str, str]) -> InboundSms:
    sender = params.get("From")
    if not sender:
        raise ValueError("not a Twilio inbound message: From needed")
    body = params.get("Body", "")
    return InboundSms(params.get("MessageSid"), sender, body, intent_of(body))


def intent_of(body: str) -> Intent:
    word = body.strip().upper()
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    return "message"
