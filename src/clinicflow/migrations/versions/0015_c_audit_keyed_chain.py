"""The audit chain becomes keyed (HMAC-SHA256 under a key from the key ring).

Rows already chained keep their plain SHA-256 hashes: `infra_audit_chain.keyed_from` records
the first id that will be keyed, so `audit verify` checks older rows the old way and every
newer row with the key.

Revision ID: 0015c
Revises: 0015b
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015c"
down_revision: str | None = "0015b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    chain = op.create_table(
        "infra_audit_chain",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("keyed_from", sa.Integer, nullable=False),
    )
    bind = op.get_bind()
    last_row = bind.execute(sa.text("SELECT MAX(id) FROM infra_audit_log")).scalar()
    last_pruned = bind.execute(
        sa.text("SELECT MAX(through_id) FROM infra_audit_checkpoint")
    ).scalar()
    keyed_from = max(int(last_row or 0), int(last_pruned or 0)) + 1
    op.bulk_insert(chain, [{"id": 1, "keyed_from": keyed_from}])


def downgrade() -> None:
    op.drop_table("infra_audit_chain")
