"""Idempotency keys for checkout and refunds: `payments_request_key` remembers, per caller
and key, the keyed fingerprint of the first request, the order it made or refunded, and the
claim of the request still at work with it.

Revision ID: 0016k
Revises: 0015g
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0016k"
down_revision: str | None = "0015g"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payments_request_key",
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(36), sa.ForeignKey("payments_order.id"), nullable=False),
        sa.Column("locked_until", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_payments_request_key"),
        sa.CheckConstraint("operation IN ('checkout', 'refund')", name="operation"),
    )


def downgrade() -> None:
    op.drop_table("payments_request_key")
