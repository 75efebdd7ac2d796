"""The busy store's intervals in whole minutes too (issue 17): availability reads each
practitioner's busy time as the engine's minutes, integers straight from the index, instead
of parsing two timestamps a row (`benchmarks/calendars.py`). Rows already held get theirs from
their timestamps.

Revision ID: 0022m
Revises: 0022l
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0022m"
down_revision: str | None = "0022l"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _floor(at: datetime) -> int:
    return int((at - _EPOCH).total_seconds() // 60)


def _ceil(at: datetime) -> int:
    seconds = (at - _EPOCH).total_seconds()
    return int(-(-seconds // 60))


def upgrade() -> None:
    with op.batch_alter_table("calendars_busy_interval") as batch:
        batch.add_column(sa.Column("start_minute", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("end_minute", sa.BigInteger(), nullable=True))
    table = sa.table(
        "calendars_busy_interval",
        sa.column("source", sa.String),
        sa.column("practitioner", sa.String),
        sa.column("external_id", sa.String),
        sa.column("starts_at", UTCDateTime),
        sa.column("ends_at", UTCDateTime),
        sa.column("start_minute", sa.BigInteger),
        sa.column("end_minute", sa.BigInteger),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            table.c.source, table.c.practitioner, table.c.external_id, table.c.starts_at,
            table.c.ends_at,
        )
    ).all()  # fmt: skip
    for source, practitioner, external_id, starts_at, ends_at in rows:
        bind.execute(
            table.update()
            .where(
                table.c.source == source,
                table.c.practitioner == practitioner,
                table.c.external_id == external_id,
            )
            .values(start_minute=_floor(starts_at), end_minute=_ceil(ends_at))
        )
    with op.batch_alter_table("calendars_busy_interval") as batch:
        batch.alter_column("start_minute", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("end_minute", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index(
            "ix_calendars_busy_interval_minutes", ["practitioner", "start_minute", "end_minute"]
        )


def downgrade() -> None:
    with op.batch_alter_table("calendars_busy_interval") as batch:
        batch.drop_index("ix_calendars_busy_interval_minutes")
        batch.drop_column("end_minute")
        batch.drop_column("start_minute")
