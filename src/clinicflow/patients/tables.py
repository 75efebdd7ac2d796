"""Patient tables: PHI columns hold ciphertext only; `*_bidx` are blind indexes for lookups."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from clinicflow.infra.db import UTCDateTime, metadata

patients = Table(
    "patients_patient",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("first_name_enc", Text, nullable=False),
    Column("last_name_enc", Text, nullable=False),
    Column("email_enc", Text, nullable=True),
    Column("phone_enc", Text, nullable=True),
    Column("email_bidx", String(64), nullable=True),
    Column("phone_bidx", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_patients_patient_email_bidx", "email_bidx", unique=True),
    Index("ix_patients_patient_phone_bidx", "phone_bidx"),
)

# Every sealed column; encryption, re-encryption and key counts all read this.
PHI_COLUMNS: tuple[str, ...] = ("first_name_enc", "last_name_enc", "email_enc", "phone_enc")


def seal_context(column: str) -> str:
    """The associated data a column's values are sealed with: a value copied into another
    column does not decrypt there. `column` may be given with or without `_enc`."""
    return f"patients_patient.{column.removesuffix('_enc')}"
