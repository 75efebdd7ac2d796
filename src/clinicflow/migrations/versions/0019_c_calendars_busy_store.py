"""The external calendars' busy-time store (issue 17): busy intervals per source and
practitioner, and each source's sync state per practitioner.

Revision ID: 0019c
Revises: 0017l
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0019c"
down_revision: str | None = "0017l"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOW_AS = ("busy", "tentative", "oof", "free", "workingElsewhere")


def upgrade() -> None:
    op.create_table(
        "calendars_busy_interval",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("practitioner", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(512), nullable=False),
        sa.Column("etag", sa.String(255), nullable=True),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("show_as", sa.String(24), nullable=False),
        sa.Column("fetched_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("source", "practitioner", "external_id"),
        sa.CheckConstraint(f"show_as IN ({', '.join(repr(v) for v in SHOW_AS)})", name="show_as"),
    )
    op.create_index(
        "ix_calendars_busy_interval_practitioner",
        "calendars_busy_interval",
        ["practitioner", "starts_at", "ends_at"],
    )
    op.create_table(
        "calendars_sync_state",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("practitioner", sa.String(64), nullable=False),
        sa.Column("cursor", sa.Text, nullable=True),
        sa.Column("subscription_id", sa.String(255), nullable=True),
        sa.Column("subscription_expires", UTCDateTime, nullable=True),
        sa.Column("last_full_sync", UTCDateTime, nullable=True),
        sa.Column("last_success", UTCDateTime, nullable=True),
        sa.Column("consecutive_errors", sa.Integer, nullable=False),
        sa.Column("backoff_until", UTCDateTime, nullable=True),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("source", "practitioner"),
    )


def downgrade() -> None:
    op.drop_table("calendars_sync_state")
    op.drop_index("ix_calendars_busy_interval_practitioner", "calendars_busy_interval")
    op.drop_table("calendars_busy_interval")
