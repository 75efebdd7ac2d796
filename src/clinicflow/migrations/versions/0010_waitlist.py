"""Waitlist: entries and their engagement events.

Invitations (launch waves) and freed-slot offers come with their own migration; the entry's
status, stage times and patient/booking ids are already here for them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("waiting", "invited", "offered", "booked", "converted", "withdrawn")
OPEN = "status IN ('booked', 'invited', 'offered', 'waiting')"
KINDS = ("opened", "clicked", "visited")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    _entries()
    op.create_table(
        "waitlist_engagement",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.String(36), sa.ForeignKey("waitlist_entry.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.CheckConstraint(_one_of("kind", KINDS), name="kind"),
    )
    op.create_index("ix_waitlist_engagement_entry_at", "waitlist_engagement", ["entry_id", "at"])
    op.create_index(
        "ux_waitlist_engagement_entry_kind_ref",
        "waitlist_engagement",
        ["entry_id", "kind", "ref"],
        unique=True,
    )


def _entries() -> None:
    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *(
            sa.Column(f"{name}_enc", sa.Text, nullable=True)
            for name in ("first_name", "last_name", "email", "phone", "zip")
        ),
        sa.Column("email_bidx", sa.String(64), nullable=True),
        sa.Column("phone_bidx", sa.String(64), nullable=True),
        sa.Column("zip3", sa.String(3), nullable=False),
        sa.Column("distance_mi", sa.Integer, nullable=True),
        sa.Column("interest_level", sa.Integer, nullable=False),
        sa.Column("channels", sa.JSON, nullable=False),
        sa.Column("preferred_practitioner", sa.String(64), nullable=True),
        sa.Column("preferred_times", sa.JSON, nullable=False),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("referrer", sa.String(200), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=True),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.Column("joined_at", UTCDateTime, nullable=False),
        sa.Column("status_at", UTCDateTime, nullable=False),
        *(
            sa.Column(f"{stage}_at", UTCDateTime, nullable=True)
            for stage in ("notified", "clicked", "booked", "paid")
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint(_one_of("status", STATUSES), name="status"),
        sa.CheckConstraint("interest_level BETWEEN 1 AND 5", name="interest_level"),
    )
    table = "waitlist_entry"
    op.create_index("ix_waitlist_entry_token_hash", table, ["token_hash"], unique=True)
    op.create_index("ix_waitlist_entry_service_status", table, ["service", "status", "joined_at"])
    email_key = sa.text(f"{OPEN} AND email_bidx IS NOT NULL")
    phone_key = sa.text(f"{OPEN} AND email_bidx IS NULL AND phone_bidx IS NOT NULL")
    op.create_index(
        "ux_waitlist_entry_service_email",
        table,
        ["service", "email_bidx"],
        unique=True,
        sqlite_where=email_key,
        postgresql_where=email_key,
    )
    op.create_index(
        "ux_waitlist_entry_service_phone",
        table,
        ["service", "phone_bidx"],
        unique=True,
        sqlite_where=phone_key,
        postgresql_where=phone_key,
    )
    op.create_index("ix_waitlist_entry_phone_bidx", table, ["phone_bidx"])


def downgrade() -> None:
    op.drop_index("ux_waitlist_engagement_entry_kind_ref", table_name="waitlist_engagement")
    op.drop_index("ix_waitlist_engagement_entry_at", table_name="waitlist_engagement")
    op.drop_table("waitlist_engagement")
    for index in (
        "ix_waitlist_entry_phone_bidx",
        "ux_waitlist_entry_service_phone",
        "ux_waitlist_entry_service_email",
        "ix_waitlist_entry_service_status",
        "ix_waitlist_entry_token_hash",
    ):
        op.drop_index(index, table_name="waitlist_entry")
    op.drop_table("waitlist_entry")
