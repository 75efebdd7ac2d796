"""Web Push subscriptions of patients (endpoint and keys sealed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications_push_subscription",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("endpoint_hash", sa.String(64), nullable=False),
        sa.Column("endpoint_enc", sa.Text, nullable=False),
        sa.Column("p256dh_enc", sa.Text, nullable=False),
        sa.Column("auth_enc", sa.Text, nullable=False),
        sa.Column("user_agent", sa.String(120), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("last_used_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("endpoint_hash", name="uq_notifications_push_subscription_endpoint"),
    )
    op.create_index(
        "ix_notifications_push_subscription_patient_id",
        "notifications_push_subscription",
        ["patient_id"],
    )


def downgrade() -> None:
    op.drop_table("notifications_push_subscription")
