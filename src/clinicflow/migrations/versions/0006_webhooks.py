"""Outbound webhooks: admin-registered subscribers and the log of every delivery attempt.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhooks_subscription",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.JSON, nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("previous_secret_enc", sa.Text, nullable=True),
        sa.Column("previous_secret_expires_at", UTCDateTime, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "webhooks_delivery",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.String(36),
            sa.ForeignKey(
                "webhooks_subscription.id",
                ondelete="CASCADE",
                name="fk_webhooks_delivery_subscription_id_webhooks_subscription",
            ),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhooks_delivery_event"),
    )
    op.create_index("ix_webhooks_delivery_due", "webhooks_delivery", ["status", "next_attempt_at"])
    op.create_index("ix_webhooks_delivery_event_id", "webhooks_delivery", ["event_id"])
    op.create_index("ix_webhooks_delivery_created", "webhooks_delivery", ["created_at"])
    op.create_table(
        "webhooks_attempt",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "delivery_id",
            sa.String(36),
            sa.ForeignKey(
                "webhooks_delivery.id",
                ondelete="CASCADE",
                name="fk_webhooks_attempt_delivery_id_webhooks_delivery",
            ),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_index("ix_webhooks_attempt_delivery", "webhooks_attempt", ["delivery_id", "number"])


def downgrade() -> None:
    op.drop_table("webhooks_attempt")
    op.drop_table("webhooks_delivery")
    op.drop_table("webhooks_subscription")
