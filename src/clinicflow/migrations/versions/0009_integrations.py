"""Integrations: the analytics event record (raw events for later projections).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_event",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_analytics_event_type_occurred", "analytics_event", ["type", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_analytics_event_type_occurred", table_name="analytics_event")
    op.drop_table("analytics_event")
