"""Practitioners' ICS feed tokens (issue 17): one per practitioner, stored as its SHA-256, so
`GET /v1/practitioners/{key}/calendar.ics?token=…` can be rotated and revoked.

Revision ID: 0021c
Revises: 0020d
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0021c"
down_revision: str | None = "0020d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendars_feed_token",
        sa.Column("practitioner", sa.String(64), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("practitioner"),
    )


def downgrade() -> None:
    op.drop_table("calendars_feed_token")
