"""Anonymous availability reads per local day and service, for the analytics funnel's first
step ("availability viewed"): counts only, no IP, cookie or session.

Revision ID: 0023a
Revises: 0022m
Create Date: 2026-12-11
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023a"
down_revision: str | None = "0022m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_availability_view",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "service"),
    )


def downgrade() -> None:
    op.drop_table("analytics_availability_view")
