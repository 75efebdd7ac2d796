"""Waitlist tables. PHI columns hold ciphertext only; `*_bidx` are blind indexes for finding
a duplicate join. What scoring and statistics need (interest, join time, ZIP3, distance in
whole miles, stage times) is kept in clear, so ranking never decrypts anyone's details."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Index,
    Integer,
    String,
    Table,
    text,
)
from sqlalchemy.schema import SchemaItem

from clinicflow.infra.columns import (
    blind_indexes,
    check_one_of,
    instant,
    one_of,
    sealed,
    uuid_key,
    uuid_ref,
)
from clinicflow.infra.db import metadata
from clinicflow.waitlist.domain.states import (
    ENGAGEMENT_KINDS,
    INVITATION_STATUSES,
    LIVE_OFFER,
    OFFER_STATUSES,
    OPEN,
    STATUSES,
)

# Duplicates are looked for among open entries only: after withdrawing, joining again is new.
_OPEN = one_of("status", sorted(s.value for s in OPEN))
_EMAIL_KEY = text(f"{_OPEN} AND email_bidx IS NOT NULL")
_PHONE_KEY = text(f"{_OPEN} AND email_bidx IS NULL AND phone_bidx IS NOT NULL")

entries = Table(
    "waitlist_entry",
    metadata,
    uuid_key(),
    Column("service", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    # Nullable so retention can de-identify an entry in place.
    *sealed("first_name", "last_name", "email", "phone", "zip"),
    *blind_indexes("email", "phone"),
    Column("zip3", String(3), nullable=False),
    Column("distance_mi", Integer, nullable=True),  # to the clinic; None = place unknown
    Column("interest_level", Integer, nullable=False),
    # {"email": {"opt_in": true, "consent_at": "…", "withdrawn_at": null}, "sms": …, "phone": …}
    Column("channels", JSON, nullable=False),
    Column("preferred_practitioner", String(64), nullable=True),
    # [{"weekday": "tue", "start": "17:00", "end": "19:00"}], clinic-local wall-clock times
    Column("preferred_times", JSON, nullable=False),
    Column("campaign", String(64), nullable=True),
    Column("referrer", String(200), nullable=True),
    Column("token_hash", String(64), nullable=False),  # SHA-256 of the private token
    uuid_ref("patient_id", nullable=True),  # once known: signed in, or converted
    uuid_ref("booking_id", nullable=True),  # the booking that converted it
    instant("joined_at"),
    instant("status_at"),  # when the status last changed
    # Conversion stages, each stamped once when first reached.
    instant("notified_at", nullable=True),
    instant("clicked_at", nullable=True),
    instant("booked_at", nullable=True),
    instant("paid_at", nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
    instant("updated_at"),
    check_one_of("status", STATUSES),
    CheckConstraint("interest_level BETWEEN 1 AND 5", name="interest_level"),
    Index("ix_waitlist_entry_token_hash", "token_hash", unique=True),
    Index("ix_waitlist_entry_service_status", "service", "status", "joined_at"),
    # One open entry per service and person: found by email when given, else by phone.
    # The database enforces what the join checks, so two joins at once cannot both insert.
    Index(
        "ux_waitlist_entry_service_email",
        "service",
        "email_bidx",
        unique=True,
        sqlite_where=_EMAIL_KEY,
        postgresql_where=_EMAIL_KEY,
    ),
    Index(
        "ux_waitlist_entry_service_phone",
        "service",
        "phone_bidx",
        unique=True,
        sqlite_where=_PHONE_KEY,
        postgresql_where=_PHONE_KEY,
    ),
    Index("ix_waitlist_entry_phone_bidx", "phone_bidx"),
)

# What the person did with the clinic's messages and pages: opened, clicked, visited.
engagements = Table(
    "waitlist_engagement",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    uuid_ref("entry_id", "waitlist_entry.id"),
    Column("kind", String(16), nullable=False),
    instant("at"),
    # The provider's event id or the message id, so a redelivered event counts once.
    Column("ref", String(64), nullable=True),
    check_one_of("kind", ENGAGEMENT_KINDS),
    Index("ix_waitlist_engagement_entry_at", "entry_id", "at"),
    Index("ux_waitlist_engagement_entry_kind_ref", "entry_id", "kind", "ref", unique=True),
)

# Launch waves, one row per wave of a service. The primary key is also the guard against two
# workers sending the same wave: the second insert of (service, number) fails.
waves = Table(
    "waitlist_wave",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("number", Integer, primary_key=True),
    instant("started_at"),
    Column("capacity", Integer, nullable=False),  # places counted when it was sent
    Column("invited", Integer, nullable=False),
)


def _private_link(statuses: Iterable[str]) -> tuple[SchemaItem, ...]:
    """A private link's columns: its token (the SHA-256 only), its status among `statuses`,
    when it expires, when it was made and last changed, and the booking it became."""
    return (
        Column("token_hash", String(64), nullable=False),
        Column("status", String(16), nullable=False),
        instant("expires_at"),
        instant("created_at"),
        instant("status_at"),
        uuid_ref("booking_id", nullable=True),
        check_one_of("status", statuses),
    )


# A launch invitation: a private booking link (SHA-256 kept only) open until `expires_at`.
invitations = Table(
    "waitlist_invitation",
    metadata,
    uuid_key(),
    uuid_ref("entry_id", "waitlist_entry.id"),
    Column("service", String(64), nullable=False),
    Column("wave", Integer, nullable=False),
    *_private_link(INVITATION_STATUSES),
    Index("ix_waitlist_invitation_token_hash", "token_hash", unique=True),
    Index("ix_waitlist_invitation_service_status", "service", "status"),
    Index("ix_waitlist_invitation_entry_id", "entry_id"),
)

_LIVE_OFFER = text(one_of("status", LIVE_OFFER))

# A freed-slot offer: the slot is held by a booking hold (`hold_id`) while the link is open.
offers = Table(
    "waitlist_offer",
    metadata,
    uuid_key(),
    uuid_ref("entry_id", "waitlist_entry.id"),
    uuid_ref("hold_id"),
    Column("service", String(64), nullable=False),
    Column("visit_type", String(32), nullable=False),
    Column("duration_min", Integer, nullable=False),
    Column("practitioner", String(64), nullable=False),
    instant("start_at"),
    *_private_link(OFFER_STATUSES),
    Index("ix_waitlist_offer_token_hash", "token_hash", unique=True),
    Index("ix_waitlist_offer_status_expires", "status", "expires_at"),
    Index("ix_waitlist_offer_entry_id", "entry_id"),
    # One live offer per held slot: a slot is never offered to two people at once.
    Index(
        "ux_waitlist_offer_live_hold",
        "hold_id",
        unique=True,
        sqlite_where=_LIVE_OFFER,
        postgresql_where=_LIVE_OFFER,
    ),
)

# Nurture messages: one per entry and cadence step (`seq`), each with a tracking link.
nurtures = Table(
    "waitlist_nurture",
    metadata,
    uuid_key(),
    uuid_ref("entry_id", "waitlist_entry.id"),
    Column("seq", Integer, nullable=False),
    Column("token_hash", String(64), nullable=False),
    instant("sent_at"),
    instant("clicked_at", nullable=True),
    Index("ix_waitlist_nurture_token_hash", "token_hash", unique=True),
    Index("ux_waitlist_nurture_entry_seq", "entry_id", "seq", unique=True),
)

PHI_COLUMNS: tuple[str, ...] = tuple(c.name for c in entries.c if c.name.endswith("_enc"))


def seal_context(column: str) -> str:
    """The associated data a column's values are sealed (and indexed) with."""
    return f"waitlist_entry.{column.removesuffix('_enc')}"
