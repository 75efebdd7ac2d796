"""Messages are claimed (status "sending") before their provider call; the recovery job finds
claims whose worker died by status and age.

Revision ID: 0015e
Revises: 0015c
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015e"
down_revision: str | None = "0015c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_notifications_message_status_updated",
        "notifications_message",
        ["status", "updated_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_message_status_updated", table_name="notifications_message")
