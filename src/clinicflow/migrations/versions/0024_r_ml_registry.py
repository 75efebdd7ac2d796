"""The ML model registry (issue 19): each trained model with its version, training window,
features, metrics, data hash and artifact; and the predictions cached for the staff
endpoints.

Revision ID: 0024r
Revises: 0023f
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0024r"
down_revision: str | None = "0023f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecasting_model",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trained_at", UTCDateTime, nullable=False),
        sa.Column("window_start", UTCDateTime, nullable=False),
        sa.Column("window_end", UTCDateTime, nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_forecasting_model_kind_version",
        "forecasting_model",
        ["kind", "version"],
        unique=True,
    )
    op.create_table(
        "forecasting_prediction",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.Column("at", UTCDateTime, nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("model_id", sa.String(36), nullable=False),
        sa.Column("made_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", "service"),
    )


def downgrade() -> None:
    op.drop_table("forecasting_prediction")
    op.drop_index("ix_forecasting_model_kind_version", table_name="forecasting_model")
    op.drop_table("forecasting_model")
