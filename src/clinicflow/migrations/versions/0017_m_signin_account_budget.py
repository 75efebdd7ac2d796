"""A sign-in budget per account across all client networks, and the networks each account
signed in from (as keyed hashes), which are exempt from it.

Without it, an attacker holding many addresses (a botnet, an IPv6 /64) got 5 free guesses
per address against one account without limit.

Revision ID: 0017m
Revises: 0016k
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0017m"
down_revision: str | None = "0016k"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_signin_account",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("blocked_until", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_identity_signin_account_updated_at", "identity_signin_account", ["updated_at"]
    )
    op.create_table(
        "identity_signin_known",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("network_hash", sa.String(64), primary_key=True),
        sa.Column("signed_in_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_identity_signin_known_signed_in_at", "identity_signin_known", ["signed_in_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_identity_signin_known_signed_in_at", "identity_signin_known")
    op.drop_table("identity_signin_known")
    op.drop_index("ix_identity_signin_account_updated_at", "identity_signin_account")
    op.drop_table("identity_signin_account")
