"""The launch record moves to the catalog, which owns whether a service is live: every
context reads it from there (booking, payments, waitlist, notifications, the pages).

Revision ID: 0015g
Revises: 0015e
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015g"
down_revision: str | None = "0015e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.rename_table("booking_service_launch", "catalog_service_launch")


def downgrade() -> None:
    op.rename_table("catalog_service_launch", "booking_service_launch")
