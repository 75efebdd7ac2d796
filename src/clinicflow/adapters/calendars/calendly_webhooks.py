"""Calendly's webhooks: `Calendly-Webhook-Signature` verified, `invitee.*` events read, and
the subscriptions that make Calendly send them.

Signature (reference/integrations.md §1.5): the header is `t=<unix seconds>,v1=<hex>`, and
`v1` is HMAC-SHA256, keyed with the subscription's signing key, of `"<t>." + raw body`,
compared in constant time. A `t` older than the tolerance (3 minutes, what Calendly's own
sample code allows) is refused as a replay, as is one from further in the future than that.

Subscriptions: a personal access token's subscription has no signing key unless one is
given when it is made, so clinicflow makes them with its own (Settings:
calendly_webhook_signing_key) through `clinicflow calendly subscribe`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from clinicflow.adapters.calendars._calendly_http import CalendlyClient
from clinicflow.calendars.page_bookings.ports import InviteeEvent, SignatureInvalid
from clinicflow.shared.clock import Clock

HEADER = "Calendly-Webhook-Signature"
DEFAULT_TOLERANCE = 180  # seconds
EVENTS = ("invitee.created", "invitee.canceled")
Scope = Literal["organization", "user"]


def verify_calendly_signature(
    body: bytes, header: str | None, key: str, now: datetime, tolerance: int = DEFAULT_TOLERANCE
) -> None:
    """Raises `SignatureInvalid` unless a v1 signature matches and `t` is recent."""
    if not header:
        raise SignatureInvalid(f"no {HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value.strip())
    stamps = parts.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit():
        raise SignatureInvalid(f"{HEADER} has no timestamp")
    timestamp = int(stamps[0])
    expected = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise SignatureInvalid("the signature does not match")
    if abs(now.timestamp() - timestamp) > tolerance:
        raise SignatureInvalid(f"the signature's timestamp is more than {tolerance} s away")


class CalendlyWebhooks:
    """The page bookings' `InviteeWebhooks` port."""

    def __init__(self, signing_key: str, clock: Clock, *, tolerance: int = DEFAULT_TOLERANCE):
        self._key = signing_key
        self._clock = clock
        self._tolerance = tolerance

    def __repr__(self) -> str:
        return "CalendlyWebhooks()"  # never the key

    def parse(self, headers: Mapping[str, str], body: bytes) -> InviteeEvent | None:
        header = next((v for k, v in headers.items() if k.lower() == HEADER.lower()), None)
        verify_calendly_signature(body, header, self._key, self._clock.now(), self._tolerance)
        return parse_invitee_event(body)


def parse_invitee_event(body: bytes) -> InviteeEvent | None:
    """A verified body; None for events other than invitee.created/canceled. Raises
    ValueError (or KeyError, TypeError) for a body that is not a Calendly event."""
    document = json.loads(body)
    name = document["event"]
    if name not in EVENTS:
        return None
    payload = document["payload"]
    scheduled = payload["scheduled_event"]
    first, last = _names(payload)
    return InviteeEvent(
        name="invitee.created" if name == "invitee.created" else "invitee.canceled",
        invitee=_text(payload["uri"]),
        scheduled_event=_text(scheduled["uri"]),
        event_type=_text(scheduled["event_type"]),
        start=_time(scheduled["start_time"]),
        end=_time(scheduled["end_time"]),
        first_name=first,
        last_name=last,
        email=payload.get("email") or None,
        phone=payload.get("text_reminder_number") or None,
        rescheduled=bool(payload.get("rescheduled")),
    )


def _names(payload: Mapping[str, object]) -> tuple[str, str]:
    """Calendly fills first/last name when the event type asks for them separately, and
    only `name` otherwise: then the last word is taken as the last name."""
    first, last = payload.get("first_name"), payload.get("last_name")
    if isinstance(first, str) and first.strip() and isinstance(last, str) and last.strip():
        return first.strip(), last.strip()
    full = str(payload.get("name") or "").split()
    if not full:
        raise ValueError("an invitee without a name")
    return (" ".join(full[:-1]) or full[0]), full[-1]


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a URI")
    return value


def _time(value: object) -> datetime:
    parsed = datetime.fromisoformat(_text(value))
    if parsed.tzinfo is None:
        raise ValueError("a time without an offset")
    return parsed.astimezone(UTC)


class CalendlySubscriptions:
    """Calendly's webhook subscriptions for the clinic's callback URL."""

    def __init__(self, client: CalendlyClient) -> None:
        self._client = client

    async def me(self) -> tuple[str, str]:
        """The token's user URI and its organization URI."""
        answer = await self._client.get("/users/me", {})
        resource = answer.get("resource")
        if not isinstance(resource, dict):
            raise ValueError("GET /users/me answered without a resource")
        return str(resource["uri"]), str(resource["current_organization"])

    async def subscribe(
        self, url: str, signing_key: str, scope: Scope = "organization", user: str | None = None
    ) -> str:
        """The subscription's URI: an existing one for `url`, or a new one."""
        me, organization = await self.me()
        listed = await self._client.get(
            "/webhook_subscriptions",
            {"organization": organization, "scope": scope}
            | ({"user": user or me} if scope == "user" else {}),
        )
        collection = listed.get("collection")
        for found in collection if isinstance(collection, list) else []:
            if isinstance(found, dict) and found.get("callback_url") == url:
                return str(found["uri"])
        body: dict[str, object] = {
            "url": url,
            "events": list(EVENTS),
            "organization": organization,
            "scope": scope,
            "signing_key": signing_key,
        }
        if scope == "user":
            body["user"] = user or me
        made = await self._client.request("POST", "/webhook_subscriptions", body=body)
        resource = made.get("resource")
        if not isinstance(resource, dict):
            raise ValueError("POST /webhook_subscriptions answered without a resource")
        return str(resource["uri"])
