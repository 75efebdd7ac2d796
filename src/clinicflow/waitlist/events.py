"""Events the waitlist publishes (past tense, versioned). Payloads carry ids, the service
and facts used for counting; never a name, contact, ZIP or referrer URL."""

from __future__ import annotations

from datetime import datetime

from clinicflow.infra.outbox import Event
from clinicflow.waitlist.domain.entry import Entry
from clinicflow.waitlist.domain.links import Offer

JOINED = "waitlist.joined"
WITHDRAWN = "waitlist.withdrawn"


def waitlist_event(kind: str, row: Entry, now: datetime, **extra: object) -> Event:
    """`kind` is e.g. "joined"; the event type becomes "waitlist.joined"."""
    payload = {
        "entry_id": row.id,
        "service": row.service,
        "status": row.status,
        "interest_level": row.interest_level,
        "campaign": row.campaign,
        "joined_at": row.joined_at.isoformat(),
        **extra,
    }
    return Event(
        type=f"waitlist.{kind}",
        aggregate_type="waitlist_entry",
        aggregate_id=row.id,
        occurred_at=now,
        payload=payload,
    )


INVITED = "waitlist.invited"
INVITATION_EXPIRED = "waitlist.invitation_expired"
OFFER_MADE = "waitlist.offer_made"
OFFER_EXPIRED = "waitlist.offer_expired"
CONVERTED = "waitlist.converted"
PAID = "waitlist.paid"
NURTURE_DUE = "waitlist.nurture_due"
SERVICE_LAUNCHED = "service.launched"


def service_launched(service: str, now: datetime, by: str) -> Event:
    return Event(
        type=SERVICE_LAUNCHED,
        aggregate_type="service",
        aggregate_id=service[:36],
        occurred_at=now,
        payload={"service": service, "launched_at": now.isoformat(), "launched_by": by},
    )


def slot_facts(offer: Offer) -> dict[str, object]:
    """A freed slot in an event: when and with whom, never for whom."""
    return {
        "offer_id": offer.id,
        "hold_id": offer.hold_id,
        "visit_type": offer.visit_type,
        "duration": offer.duration_min,
        "practitioner": offer.practitioner,
        "start": offer.start_at.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
    }
