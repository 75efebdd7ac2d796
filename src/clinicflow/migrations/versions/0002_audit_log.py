"""Audit log: an append-only, hash-chained record of every access to PHI (ids only).

Ids are assigned by the appender (last id + 1), not a sequence, so a rolled-back append
leaves no gap that would look like a deleted row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "infra_audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=True),
        sa.Column("source_ip", sa.String(45), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("break_glass", sa.Boolean, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint(
            "actor_type IN ('user', 'client', 'patient', 'anonymous', 'system')",
            name="ck_infra_audit_log_actor_type",
        ),
        sa.CheckConstraint(
            "outcome IN ('allowed', 'denied', 'error')", name="ck_infra_audit_log_outcome"
        ),
    )
    op.create_index("ix_infra_audit_log_patient_at", "infra_audit_log", ["patient_id", "at"])
    op.create_index("ix_infra_audit_log_actor_at", "infra_audit_log", ["actor_id", "at"])


def downgrade() -> None:
    op.drop_table("infra_audit_log")
