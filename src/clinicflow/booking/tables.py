"""Booking tables. Times are UTC instants; `block_*` is the time the appointment occupies,
buffers included, and is what the overlap rules (and PostgreSQL's exclusion constraint) use."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from clinicflow.infra.db import UTCDateTime, metadata

# Statuses that occupy the practitioner's time (a held row only while its hold is live).
OCCUPYING = ("held", "confirmed", "checked_in", "completed", "no_show")

appointments = Table(
    "booking_appointment",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("visit_type", String(32), nullable=False),
    Column("duration_min", Integer, nullable=False),
    Column("practitioner", String(64), nullable=False),
    Column("patient_id", String(36), ForeignKey("patients_patient.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime, nullable=False),
    Column("block_start", UTCDateTime, nullable=False),
    Column("block_end", UTCDateTime, nullable=False),
    Column("hold_expires_at", UTCDateTime, nullable=True),
    Column("cancel_reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_booking_appointment_practitioner_block", "practitioner", "block_start"),
    Index("ix_booking_appointment_patient_start", "patient_id", "start_at"),
)

idempotency_keys = Table(
    "booking_idempotency_key",
    metadata,
    Column("client_id", String(64), primary_key=True),  # keys are unique per client
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("booking_id", String(36), ForeignKey("booking_appointment.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
