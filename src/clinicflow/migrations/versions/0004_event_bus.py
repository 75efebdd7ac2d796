"""Event bus: the consumers' inbox (handled event ids) and the delivery ledger (attempts,
next attempt, dead letters) per subscriber.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "infra_inbox",
        sa.Column("subscriber", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("handled_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("subscriber", "event_id", name="pk_infra_inbox"),
    )
    op.create_table(
        "infra_delivery",
        sa.Column("subscriber", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.String(128), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("subscriber", "event_id", name="pk_infra_delivery"),
    )
    op.create_index(
        "ix_infra_delivery_due", "infra_delivery", ["subscriber", "status", "next_attempt_at"]
    )
    op.create_index(
        "ix_infra_delivery_aggregate",
        "infra_delivery",
        ["subscriber", "aggregate_type", "aggregate_id", "seq"],
    )


def downgrade() -> None:
    op.drop_index("ix_infra_delivery_aggregate", table_name="infra_delivery")
    op.drop_index("ix_infra_delivery_due", table_name="infra_delivery")
    op.drop_table("infra_delivery")
    op.drop_table("infra_inbox")
