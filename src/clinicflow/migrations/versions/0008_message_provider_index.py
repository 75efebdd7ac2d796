"""Notification messages found by the provider id that status callbacks carry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Status callbacks (Twilio) and events (SendGrid) name a message by the provider's id.
    op.create_index(
        "ix_notifications_message_provider",
        "notifications_message",
        ["provider", "provider_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_message_provider", table_name="notifications_message")
