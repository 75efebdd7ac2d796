"""Sign-in back-off per (account name, client address) replaces the account-wide lockout.

The lockout let anyone lock any account (administrators included) by typing wrong
passwords; the back-off slows only the address that fails.

Revision ID: 0015b
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0015b"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_signin_backoff",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("blocked_until", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_identity_signin_backoff_updated_at", "identity_signin_backoff", ["updated_at"]
    )
    with op.batch_alter_table("identity_user") as batch:
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("identity_user") as batch:
        batch.add_column(sa.Column("locked_until", UTCDateTime, nullable=True))
    op.drop_index("ix_identity_signin_backoff_updated_at", "identity_signin_backoff")
    op.drop_table("identity_signin_backoff")
