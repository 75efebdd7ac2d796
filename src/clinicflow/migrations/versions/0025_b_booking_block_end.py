"""An index on each practitioner's bookings by where their blocks end: "what overlaps this
span" (every availability question, every booking) bounds `block_end > start` by it, so it
reads the bookings ending after the span's start (today's and the future's), not every
block a practitioner ever had that starts before the span's end (years of history).

Revision ID: 0025b
Revises: 0024r
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0025b"
down_revision: str | None = "0024r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_booking_appointment_practitioner_block_end",
        "booking_appointment",
        ["practitioner", "block_end"],
    )


def downgrade() -> None:
    op.drop_index("ix_booking_appointment_practitioner_block_end", table_name="booking_appointment")
