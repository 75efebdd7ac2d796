"""The FHIR API's SMART Backend Services (issue 20): registered system clients, the assertion
ids they have spent (never accepted twice) and the access tokens issued (SHA-256 only).

Revision ID: 0023f
Revises: 0023e
Create Date: 2026-12-11
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0023f"
down_revision: str | None = "0023e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fhir_client",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("jwks_url", sa.String(2000), nullable=True),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("scopes", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "fhir_assertion",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti"),
    )
    op.create_table(
        "fhir_token",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(500), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_fhir_token_client_id", "fhir_token", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_fhir_token_client_id", table_name="fhir_token")
    op.drop_table("fhir_token")
    op.drop_table("fhir_assertion")
    op.drop_table("fhir_client")
