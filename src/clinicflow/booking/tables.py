"""Booking tables. Times are UTC instants; `block_*` is the time the appointment occupies,
buffers included, and is what the overlap rules (and PostgreSQL's exclusion constraint) use."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from clinicflow.infra.columns import instant, timestamps, uuid_key, uuid_ref
from clinicflow.infra.db import metadata

# Statuses that occupy the practitioner's time (a held row only while its hold is live).
OCCUPYING = ("held", "confirmed", "checked_in", "completed", "no_show")

appointments = Table(
    "booking_appointment",
    metadata,
    uuid_key(),
    Column("service", String(64), nullable=False),
    Column("visit_type", String(32), nullable=False),
    Column("duration_min", Integer, nullable=False),
    Column("practitioner", String(64), nullable=False),
    uuid_ref("patient_id", "patients_patient.id", nullable=True),
    Column("status", String(16), nullable=False),
    instant("start_at"),
    instant("end_at"),
    instant("block_start"),
    instant("block_end"),
    instant("hold_expires_at", nullable=True),
    Column("cancel_reason", Text, nullable=True),
    *timestamps(),
    Index("ix_booking_appointment_practitioner_block", "practitioner", "block_start"),
    # What overlaps a span reads the blocks ending after its start (migration 0025b).
    Index("ix_booking_appointment_practitioner_block_end", "practitioner", "block_end"),
    Index("ix_booking_appointment_patient_start", "patient_id", "start_at"),
)

idempotency_keys = Table(
    "booking_idempotency_key",
    metadata,
    Column("client_id", String(64), primary_key=True),  # keys are unique per client
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    uuid_ref("booking_id", "booking_appointment.id"),
    instant("created_at"),
)
