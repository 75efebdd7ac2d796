"""The raw event record's place in the order the lake takes it (`seq`), given by the lake
writer in commit order; the events recorded before this get their places in recorded order.

Revision ID: 0022l
Revises: 0021c
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022l"
down_revision: str | None = "0021c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("analytics_event") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE analytics_event SET seq = ("
        " SELECT placed.n FROM ("
        "  SELECT event_id, ROW_NUMBER() OVER (ORDER BY recorded_at, event_id) AS n"
        "  FROM analytics_event"
        " ) AS placed WHERE placed.event_id = analytics_event.event_id"
        ")"
    )
    op.create_index("ix_analytics_event_seq", "analytics_event", ["seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_analytics_event_seq", table_name="analytics_event")
    with op.batch_alter_table("analytics_event") as batch:
        batch.drop_column("seq")
