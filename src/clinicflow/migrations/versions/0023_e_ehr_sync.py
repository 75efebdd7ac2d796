"""The EHR sync (issue 20): which MediRecords patient is ours and the digest of what was
agreed at the last sync, the conflicts listed for staff, and the webhook ids already taken.

Revision ID: 0023e
Revises: 0023a
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0023e"
down_revision: str | None = "0023a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integrations_ehr_link",
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=False),
        sa.Column("synced_digest", sa.String(64), nullable=False),
        sa.Column("synced_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("patient_id"),
    )
    op.create_index(
        "ux_integrations_ehr_link_remote", "integrations_ehr_link", ["remote_id"], unique=True
    )
    op.create_table(
        "integrations_ehr_conflict",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("remote_version", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(200), nullable=True),
        sa.Column("detected_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_integrations_ehr_conflict_open",
        "integrations_ehr_conflict",
        ["resolved_at", "detected_at"],
    )
    op.create_index(
        "ix_integrations_ehr_conflict_patient", "integrations_ehr_conflict", ["patient_id"]
    )
    op.create_table(
        "integrations_ehr_notice",
        sa.Column("notice_id", sa.String(100), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("notice_id"),
    )


def downgrade() -> None:
    op.drop_table("integrations_ehr_notice")
    op.drop_index("ix_integrations_ehr_conflict_patient", table_name="integrations_ehr_conflict")
    op.drop_index("ix_integrations_ehr_conflict_open", table_name="integrations_ehr_conflict")
    op.drop_table("integrations_ehr_conflict")
    op.drop_index("ux_integrations_ehr_link_remote", table_name="integrations_ehr_link")
    op.drop_table("integrations_ehr_link")
