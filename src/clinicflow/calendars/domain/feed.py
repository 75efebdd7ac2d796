"""clinicflow's own ICS feed of one practitioner's bookings (GET
/v1/practitioners/{key}/calendar.ics), as text; and its secret token.

No patient data leaves clinicflow this way: an event says "Booked: <service>" and nothing
else (calendar apps sync to phones and third-party clouds outside the clinic's HIPAA
agreements). UIDs are stable per booking, so an app updates the entry it has; a cancelled
booking stays listed as STATUS:CANCELLED for a while so apps that kept it remove it.
The token is shown once and stored as its SHA-256 (it is 256 random bits, so a plain digest
suffices: nothing to brute-force); a revoked or rotated token stops matching.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

PRODID = "-//clinicflow//practitioner feed//EN"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """A booking as the feed shows it: no patient, only the service's display name."""

    booking_id: str
    service_name: str
    start: datetime  # aware
    end: datetime
    cancelled: bool
    updated_at: datetime  # the row's last change: DTSTAMP and LAST-MODIFIED


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, digest: str | None) -> bool:
    return digest is not None and hmac.compare_digest(token_digest(token), digest)


def uid(booking_id: str) -> str:
    return f"{booking_id}@clinicflow"


def render(practitioner_name: str, entries: Iterable[FeedEntry], *, zone_name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"clinicflow: {practitioner_name}")
    cal.add("x-wr-timezone", zone_name)
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    for entry in sorted(entries, key=lambda e: (e.start, e.booking_id)):
        event = Event()
        event.add("uid", uid(entry.booking_id))
        event.add("dtstamp", entry.updated_at.astimezone(UTC))
        event.add("last-modified", entry.updated_at.astimezone(UTC))
        event.add("dtstart", entry.start.astimezone(UTC))
        event.add("dtend", entry.end.astimezone(UTC))
        event.add("summary", f"Booked: {entry.service_name}")
        event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if entry.cancelled else "OPAQUE")
        # A later change carries a higher sequence: minutes since the epoch only grow.
        event.add("sequence", int(entry.updated_at.timestamp()) // 60)
        cal.add_component(event)
    return bytes(cal.to_ical())
