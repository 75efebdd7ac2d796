"""Calendly page bookings by their scheduled event and by their booking (issue 17): the busy
store leaves out the Calendly event of a page booking being imported or imported here, looked
up by its URI; a booking cancelled or moved here finds the page booking it came from.

Revision ID: 0020d
Revises: 0020c
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020d"
down_revision: str | None = "0020c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_calendars_calendly_invitee_scheduled_event",
        "calendars_calendly_invitee",
        ["scheduled_event"],
    )
    op.create_index(
        "ix_calendars_calendly_invitee_booking", "calendars_calendly_invitee", ["booking_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_calendars_calendly_invitee_booking", table_name="calendars_calendly_invitee")
    op.drop_index(
        "ix_calendars_calendly_invitee_scheduled_event", table_name="calendars_calendly_invitee"
    )
