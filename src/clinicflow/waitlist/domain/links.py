"""Private links: the entry's own token, launch invitations, freed-slot offers and nurture
messages' tracking links. The token is shown once (in the message that carries it); the
database keeps its SHA-256 only. Every link shares the rules here: what a token may look
like, its state as of now, and why it can no longer book.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_token() -> tuple[str, str]:
    """A private link token (shown once) and the SHA-256 that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Anything else is answered as unknown, without a look in the database."""
    return 20 <= len(token) <= 128 and set(token) <= TOKEN_CHARS


@dataclass(frozen=True, slots=True)
class Invitation:
    """A launch invitation: a booking link open until `expires_at`."""

    id: str
    entry_id: str
    service: str
    wave: int
    token_hash: str
    status: str  # sent (open) | claiming | claimed | expired | withdrawn
    expires_at: datetime
    created_at: datetime
    status_at: datetime
    booking_id: str | None


def new_invitation(
    entry_id: str, service: str, wave: int, token_hash: str, now: datetime, expires_at: datetime
) -> Invitation:
    return Invitation(
        id=str(uuid.uuid4()),
        entry_id=entry_id,
        service=service,
        wave=wave,
        token_hash=token_hash,
        status="sent",
        expires_at=expires_at,
        created_at=now,
        status_at=now,
        booking_id=None,
    )


@dataclass(frozen=True, slots=True)
class Offer:
    """A freed slot offered to one entry, held (`hold_id`, a booking hold) while open."""

    id: str
    entry_id: str
    hold_id: str
    service: str
    visit_type: str
    duration_min: int
    practitioner: str
    start_at: datetime
    token_hash: str
    status: str  # made (open) | claiming | claimed | expired | withdrawn
    expires_at: datetime
    created_at: datetime
    status_at: datetime
    booking_id: str | None


@dataclass(frozen=True, slots=True)
class NurtureMessage:
    """One nurture message: entry, cadence step, and its tracking link."""

    id: str
    entry_id: str
    seq: int
    token_hash: str
    sent_at: datetime
    clicked_at: datetime | None


OPEN_STATUSES = frozenset({"sent", "made"})  # an invitation's and an offer's open state


def effective(status: str, expires_at: datetime, now: datetime) -> str:
    """A link past its time reads as expired before the job has closed it."""
    if status in OPEN_STATUSES and expires_at <= now:
        return "expired"
    return status


def why_closed(status: str) -> str:
    """Why a link in `status` can no longer book, in words for the person holding it."""
    return {
        "claiming": "it is being used to book right now",
        "claimed": "it has already booked a visit",
        "expired": "its time ran out",
        "withdrawn": "it was withdrawn",
    }.get(status, f"it is {status}")
