"""Calendly API v2's wire format, as the fake (fake_calendly.py) speaks it: the token, the
organization and user URIs, times, the webhook signature (`t=…,v1=…`, HMAC-SHA256 of `t.body`),
an invitee and a webhook subscription, and the JSON bodies: errors, users, subscriptions and
`invitee.*` payloads."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from support.fake_http import Reply, Request, json_reply

TOKEN = "calendly-pat-fake-0123456789"
API = "https://api.calendly.com"
ORGANIZATION = f"{API}/organizations/ORGFAKE000000001"
ME = f"{API}/users/USERADMIN0000001"
SIGNING_KEY = "calendly-signing-key-fake-0123456789"


def user_uri(name: str) -> str:
    return f"{API}/users/{name.upper():0<16}"


def event_type_uri(name: str) -> str:
    return f"{API}/event_types/{name.upper():0<16}"


def wire(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def sign(key: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


@dataclass
class Invitee:
    """A booking on a Calendly page: its invitee and scheduled event."""

    uri: str
    event_uri: str
    event_type: str
    host: str  # the user URI
    start: datetime
    end: datetime
    email: str
    first_name: str
    last_name: str
    phone: str | None = None
    status: str = "active"


@dataclass
class Subscription:
    uri: str
    callback_url: str
    events: list[str]
    scope: str
    organization: str
    user: str | None
    signing_key: str | None
    state: str = "active"
    delivered: list[int] = field(default_factory=list)  # the statuses clinicflow answered


def query_of(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.target).query).items()}


def calendly_error(status: int, title: str, message: str) -> Reply:
    return json_reply(status, {"title": title, "message": message})


def invalid_parameter(parameter: str, message: str) -> Reply:
    return json_reply(
        400,
        {
            "title": "Invalid Argument",
            "message": "The supplied parameters are invalid.",
            "details": [{"parameter": parameter, "message": message}],
        },
    )


def user_json(uri: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "name": "Clinic Admin",
        "slug": "clinic-admin",
        "email": "admin@clinic.test",
        "timezone": "America/Chicago",
        "current_organization": ORGANIZATION,
    }


def subscription_json(s: Subscription) -> dict[str, Any]:
    return {
        "uri": s.uri,
        "callback_url": s.callback_url,
        "created_at": "2026-11-24T15:00:00.000000Z",
        "updated_at": "2026-11-24T15:00:00.000000Z",
        "retry_started_at": None,
        "state": s.state,
        "events": s.events,
        "scope": s.scope,
        "organization": s.organization,
        "user": s.user,
        "group": None,
        "creator": ME,
    }


def invitee_payload(name: str, invitee: Invitee, at: datetime) -> dict[str, Any]:
    canceled = name == "invitee.canceled"
    return {
        "uri": invitee.uri,
        "email": invitee.email,
        "name": f"{invitee.first_name} {invitee.last_name}",
        "first_name": invitee.first_name,
        "last_name": invitee.last_name,
        "status": "canceled" if canceled else "active",
        "timezone": "America/Chicago",
        "event": invitee.event_uri,
        "text_reminder_number": invitee.phone,
        "rescheduled": False,
        "old_invitee": None,
        "new_invitee": None,
        "questions_and_answers": [],
        "tracking": {"utm_source": None, "salesforce_uuid": None},
        "cancel_url": f"https://calendly.com/cancellations/{uuid.uuid4()}",
        "reschedule_url": f"https://calendly.com/reschedulings/{uuid.uuid4()}",
        "cancellation": {
            "canceled_by": invitee.first_name,
            "reason": "",
            "canceler_type": "invitee",
        }
        if canceled
        else None,
        "created_at": wire(at),
        "updated_at": wire(at),
        "scheduled_event": {
            "uri": invitee.event_uri,
            "name": "Visit",
            "status": "canceled" if canceled else "active",
            "start_time": wire(invitee.start),
            "end_time": wire(invitee.end),
            "event_type": invitee.event_type,
            "location": {"type": "physical", "location": "The clinic"},
            "invitees_counter": {"total": 1, "active": 0 if canceled else 1, "limit": 1},
            "event_memberships": [{"user": invitee.host, "user_email": "host@clinic.test"}],
            "created_at": wire(at),
            "updated_at": wire(at),
        },
    }
