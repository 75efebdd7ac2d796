"""Launches, launch waves and invitations, freed-slot offers, nurture messages.

`booking_service_launch` belongs to booking (a launched service is bookable); the rest to
the waitlist.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVITATION_STATUSES = ("sent", "claiming", "claimed", "expired", "withdrawn")
OFFER_STATUSES = ("made", "claiming", "claimed", "expired", "withdrawn")
LIVE_OFFER = "status IN ('made', 'claiming')"


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _entry_fk() -> sa.Column[str]:
    return sa.Column("entry_id", sa.String(36), sa.ForeignKey("waitlist_entry.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "booking_service_launch",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("launched_at", UTCDateTime, nullable=False),
        sa.Column("launched_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "waitlist_wave",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("invited", sa.Integer, nullable=False),
    )
    _invitations()
    _offers()
    op.create_table(
        "waitlist_nurture",
        sa.Column("id", sa.String(36), primary_key=True),
        _entry_fk(),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("clicked_at", UTCDateTime, nullable=True),
    )
    op.create_index(
        "ix_waitlist_nurture_token_hash", "waitlist_nurture", ["token_hash"], unique=True
    )
    op.create_index(
        "ux_waitlist_nurture_entry_seq", "waitlist_nurture", ["entry_id", "seq"], unique=True
    )


def _invitations() -> None:
    table = "waitlist_invitation"
    op.create_table(
        table,
        sa.Column("id", sa.String(36), primary_key=True),
        _entry_fk(),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("wave", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status_at", UTCDateTime, nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.CheckConstraint(_one_of("status", INVITATION_STATUSES), name="status"),
    )
    op.create_index("ix_waitlist_invitation_token_hash", table, ["token_hash"], unique=True)
    op.create_index("ix_waitlist_invitation_service_status", table, ["service", "status"])
    op.create_index("ix_waitlist_invitation_entry_id", table, ["entry_id"])


def _offers() -> None:
    table = "waitlist_offer"
    op.create_table(
        table,
        sa.Column("id", sa.String(36), primary_key=True),
        _entry_fk(),
        sa.Column("hold_id", sa.String(36), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("visit_type", sa.String(32), nullable=False),
        sa.Column("duration_min", sa.Integer, nullable=False),
        sa.Column("practitioner", sa.String(64), nullable=False),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status_at", UTCDateTime, nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.CheckConstraint(_one_of("status", OFFER_STATUSES), name="status"),
    )
    op.create_index("ix_waitlist_offer_token_hash", table, ["token_hash"], unique=True)
    op.create_index("ix_waitlist_offer_status_expires", table, ["status", "expires_at"])
    op.create_index("ix_waitlist_offer_entry_id", table, ["entry_id"])
    live = sa.text(LIVE_OFFER)
    op.create_index(
        "ux_waitlist_offer_live_hold",
        table,
        ["hold_id"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )


def downgrade() -> None:
    for index in (
        "ux_waitlist_offer_live_hold",
        "ix_waitlist_offer_entry_id",
        "ix_waitlist_offer_status_expires",
        "ix_waitlist_offer_token_hash",
    ):
        op.drop_index(index, table_name="waitlist_offer")
    op.drop_table("waitlist_offer")
    for index in (
        "ix_waitlist_invitation_entry_id",
        "ix_waitlist_invitation_service_status",
        "ix_waitlist_invitation_token_hash",
    ):
        op.drop_index(index, table_name="waitlist_invitation")
    op.drop_table("waitlist_invitation")
    op.drop_index("ux_waitlist_nurture_entry_seq", table_name="waitlist_nurture")
    op.drop_index("ix_waitlist_nurture_token_hash", table_name="waitlist_nurture")
    op.drop_table("waitlist_nurture")
    op.drop_table("waitlist_wave")
    op.drop_table("booking_service_launch")
