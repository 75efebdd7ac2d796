"""The audit chain's own state is signed: pending entries, `keyed_from` and pruning
checkpoints each get a `mac` (HMAC under the audit key), so a row written there by someone
without the key is refused instead of being chained, trusted or started from.

Migrations hold no key, so rows that exist now are marked `predates_signing`; the first
process holding the key signs them once (`infra.audit.adopt`, docs/architecture.md).

Revision ID: 0017l
Revises: 0017m
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017l"
down_revision: str | None = "0017m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("infra_audit_pending", "infra_audit_checkpoint", "infra_audit_chain")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("mac", sa.String(64), nullable=True))
            batch.add_column(
                sa.Column("predates_signing", sa.Boolean, nullable=False, server_default=sa.false())
            )
        rows = sa.table(table, sa.column("predates_signing", sa.Boolean))
        op.execute(rows.update().values(predates_signing=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("predates_signing")
            batch.drop_column("mac")
