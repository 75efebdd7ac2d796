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
    false,
)

from clinicflow.infra.columns import blind_indexes, instant, sealed, timestamps, uuid_key, uuid_ref
from clinicflow.infra.db import metadata

patients = Table(
    "patients_patient",
    metadata,
    uuid_key(),
    # Nullable only so that retention can de-identify a record in place. The address is
    # sealed JSON: line1, line2, city, state, zip.
    *sealed("first_name", "last_name", "email", "phone", "birth_date", "address", "notes"),
    *blind_indexes("email", "phone"),
    Column("sex", String(16), nullable=True),
    Column("pronouns", String(32), nullable=True),
    # {"email": {"opt_in": true, "consent_at": "..."}, "sms": …, "push": …}
    Column("contact_prefs", JSON, nullable=False, default=dict),
    Column("referral_source", String(16), nullable=True),  # patient|practitioner|campaign|other
    uuid_ref("referred_by_patient_id", nullable=True),
    Column("referred_by_practitioner", String(64), nullable=True),
    Column("referral_campaign", String(64), nullable=True),
    Column("status", String(16), nullable=False, server_default="active"),
    uuid_ref("merged_into", nullable=True),
    Column("legal_hold", Boolean, nullable=False, server_default=false()),
    instant("deidentified_at", nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
    *timestamps(),
    Index("ix_patients_patient_email_bidx", "email_bidx", unique=True),
    Index("ix_patients_patient_phone_bidx", "phone_bidx"),
    Index("ix_patients_patient_referred_by_patient_id", "referred_by_patient_id"),
)

# The visit history across services, kept current from booking events (one row a booking).
visits = Table(
    "patients_visit",
    metadata,
    uuid_key("booking_id"),
    uuid_ref("patient_id", "patients_patient.id"),
    Column("service", String(64), nullable=False),
    Column("visit_type", String(32), nullable=False),
    Column("practitioner", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    instant("start_at"),
    instant("end_at"),
    instant("updated_at"),
    Index("ix_patients_visit_patient_start", "patient_id", "start_at"),
    Index("ix_patients_visit_practitioner_patient", "practitioner", "patient_id"),
)

enrollments = Table(
    "patients_enrollment",
    metadata,
    Column("patient_id", String(36), ForeignKey("patients_patient.id"), primary_key=True),
    Column("service", String(64), primary_key=True),
    instant("since"),
    Column("status", String(16), nullable=False),  # active|paused|completed|withdrawn
    instant("updated_at"),
)

# The trace a merge leaves: which record went into which, when, by whom, what moved.
merges = Table(
    "patients_merge",
    metadata,
    uuid_key(),
    uuid_ref("source_id"),
    uuid_ref("target_id"),
    Column("actor_id", String(64), nullable=False),
    Column("moved", JSON, nullable=False),
    instant("merged_at"),
    Index("ix_patients_merge_source_id", "source_id"),
)

# Every sealed column; encryption, re-encryption and key counts all read this.
PHI_COLUMNS: tuple[str, ...] = tuple(c.name for c in patients.c if c.name.endswith("_enc"))


def seal_context(column: str) -> str:
    """The associated data a column's values are sealed with: a value copied into another
    column does not decrypt there. `column` may be given with or without `_enc`."""
    return f"patients_patient.{column.removesuffix('_enc')}"
