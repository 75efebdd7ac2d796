"""Notifications: messages sent (or skipped) per event and channel, and scheduled reminders.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications_message",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("provider_id", sa.String(128), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint(
            "event_id", "channel", "template", name="uq_notifications_message_event"
        ),
    )
    op.create_index(
        "ix_notifications_message_patient_created",
        "notifications_message",
        ["patient_id", "created_at"],
    )
    op.create_index("ix_notifications_message_booking_id", "notifications_message", ["booking_id"])
    op.create_table(
        "notifications_reminder",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("booking_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("send_at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("booking_start_at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint(
            "booking_id", "kind", "booking_start_at", name="uq_notifications_reminder_slot"
        ),
    )
    op.create_index(
        "ix_notifications_reminder_due", "notifications_reminder", ["status", "send_at"]
    )
    op.create_index(
        "ix_notifications_reminder_booking_id", "notifications_reminder", ["booking_id"]
    )


def downgrade() -> None:
    op.drop_table("notifications_reminder")
    op.drop_table("notifications_message")
