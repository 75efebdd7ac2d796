"""Patient tables: PHI columns hold ciphertext only; `*_bidx` are blind indexes for lookups."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from clinicflow.infra.db import UTCDateTime, metadata

patients = Table(
    "patients_patient",
    metadata,
    Column("id", String(36), primary_key=True),
    # Names are nullable only so that retention can de-identify a record in place.
    Column("first_name_enc", Text, nullable=True),
    Column("last_name_enc", Text, nullable=True),
    Column("email_enc", Text, nullable=True),
    Column("phone_enc", Text, nullable=True),
    Column("birth_date_enc", Text, nullable=True),
    Column("address_enc", Text, nullable=True),  # sealed JSON: line1, line2, city, state, zip
    Column("notes_enc", Text, nullable=True),
    Column("email_bidx", String(64), nullable=True),
    Column("phone_bidx", String(64), nullable=True),
    Column("sex", String(16), nullable=True),
    Column("pronouns", String(32), nullable=True),
    # {"email": {"opt_in": true, "consent_at": "..."}, "sms": …, "push": …}
    Column("contact_prefs", JSON, nullable=False, default=dict),
    Column("referral_source", String(16), nullable=True),  # patient|practitioner|campaign|other
    Column("referred_by_patient_id", String(36), nullable=True),
    Column("referred_by_practitioner", String(64), nullable=True),
    Column("referral_campaign", String(64), nullable=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("merged_into", String(36), nullable=True),
    Column("legal_hold", Boolean, nullable=False, server_default=false()),
    Column("deidentified_at", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_patients_patient_email_bidx", "email_bidx", unique=True),
    Index("ix_patients_patient_phone_bidx", "phone_bidx"),
    Index("ix_patients_patient_referred_by_patient_id", "referred_by_patient_id"),
)

# The visit history across services, kept current from booking events (one row a booking).
visits = Table(
    "patients_visit",
    metadata,
    Column("booking_id", String(36), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients_patient.id"), nullable=False),
    Column("service", String(64), nullable=False),
    Column("visit_type", String(32), nullable=False),
    Column("practitioner", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_patients_visit_patient_start", "patient_id", "start_at"),
    Index("ix_patients_visit_practitioner_patient", "practitioner", "patient_id"),
)

enrollments = Table(
    "patients_enrollment",
    metadata,
    Column("patient_id", String(36), ForeignKey("patients_patient.id"), primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("since", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # active|paused|completed|withdrawn
    Column("updated_at", UTCDateTime, nullable=False),
)

# The trace a merge leaves: which record went into which, when, by whom, what moved.
merges = Table(
    "patients_merge",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("source_id", String(36), nullable=False),
    Column("target_id", String(36), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("moved", JSON, nullable=False),
    Column("merged_at", UTCDateTime, nullable=False),
    Index("ix_patients_merge_source_id", "source_id"),
)

# Every sealed column; encryption, re-encryption and key counts all read this.
PHI_COLUMNS: tuple[str, ...] = (
    "first_name_enc",
    "last_name_enc",
    "email_enc",
    "phone_enc",
    "birth_date_enc",
    "address_enc",
    "notes_enc",
)


def seal_context(column: str) -> str:
    """The associated data a column's values are sealed with: a value copied into another
    column does not decrypt there. `column` may be given with or without `_enc`."""
    return f"patients_patient.{column.removesuffix('_enc')}"
