"""Booking core: appointments, idempotency keys, minimal patients, the outbox.

On PostgreSQL the database itself forbids overlaps: exclusion constraints over the
practitioner's occupied time (buffers included) and over the patient's visit time.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OCCUPYING = "('held', 'confirmed', 'checked_in', 'completed', 'no_show')"


def upgrade() -> None:
    op.create_table(
        "patients_patient",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("first_name_enc", sa.Text, nullable=False),
        sa.Column("last_name_enc", sa.Text, nullable=False),
        sa.Column("email_enc", sa.Text, nullable=True),
        sa.Column("phone_enc", sa.Text, nullable=True),
        sa.Column("email_bidx", sa.String(64), nullable=True),
        sa.Column("phone_bidx", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_patients_patient_email_bidx", "patients_patient", ["email_bidx"], unique=True
    )
    op.create_index("ix_patients_patient_phone_bidx", "patients_patient", ["phone_bidx"])
    _appointments()
    op.create_table(
        "booking_idempotency_key",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column(
            "booking_id", sa.String(36), sa.ForeignKey("booking_appointment.id"), nullable=False
        ),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    _outbox()
    if op.get_bind().dialect.name == "postgresql":
        _exclusion_constraints()


def _appointments() -> None:
    op.create_table(
        "booking_appointment",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("visit_type", sa.String(32), nullable=False),
        sa.Column("duration_min", sa.Integer, nullable=False),
        sa.Column("practitioner", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients_patient.id"), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.Column("end_at", UTCDateTime, nullable=False),
        sa.Column("block_start", UTCDateTime, nullable=False),
        sa.Column("block_end", UTCDateTime, nullable=False),
        sa.Column("hold_expires_at", UTCDateTime, nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
        sa.CheckConstraint("block_start <= start_at AND block_end >= end_at", name="block_covers"),
    )
    op.create_index(
        "ix_booking_appointment_practitioner_block",
        "booking_appointment",
        ["practitioner", "block_start"],
    )
    op.create_index(
        "ix_booking_appointment_patient_start", "booking_appointment", ["patient_id", "start_at"]
    )


def _outbox() -> None:
    op.create_table(
        "infra_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(36), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("traceparent", sa.String(64), nullable=True),
        sa.Column("published_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_infra_outbox_unpublished", "infra_outbox", ["published_at", "id"])


def _exclusion_constraints() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "ALTER TABLE booking_appointment ADD CONSTRAINT booking_practitioner_no_overlap "
        "EXCLUDE USING gist (practitioner WITH =, tstzrange(block_start, block_end, '[)') WITH &&) "
        f"WHERE (status IN {OCCUPYING})"
    )
    op.execute(
        "ALTER TABLE booking_appointment ADD CONSTRAINT booking_patient_no_overlap "
        "EXCLUDE USING gist (patient_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
        f"WHERE (patient_id IS NOT NULL AND status IN {OCCUPYING})"
    )


def downgrade() -> None:
    op.drop_table("infra_outbox")
    op.drop_table("booking_idempotency_key")
    op.drop_table("booking_appointment")
    op.drop_table("patients_patient")
