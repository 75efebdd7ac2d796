"""Calendly's invitee deliveries (issue 17): one row per (invitee URI, event), so a webhook
delivered twice imports its page booking once; flagged page bookings for the front desk.

Revision ID: 0020c
Revises: 0019c
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0020c"
down_revision: str | None = "0019c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendars_calendly_invitee",
        sa.Column("invitee", sa.String(300), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.Column("practitioner", sa.String(64), nullable=True),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("visit_type", sa.String(64), nullable=True),
        sa.Column("start_at", UTCDateTime, nullable=True),
        sa.Column("end_at", UTCDateTime, nullable=True),
        sa.Column("scheduled_event", sa.String(300), nullable=True),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("invitee", "event"),
    )
    op.create_index(
        "ix_calendars_calendly_invitee_outcome",
        "calendars_calendly_invitee",
        ["outcome", "start_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_calendars_calendly_invitee_outcome", "calendars_calendly_invitee")
    op.drop_table("calendars_calendly_invitee")
