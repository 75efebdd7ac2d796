"""The migrations and the tables declared in code describe the same schema: a column, index
or table added on one side only fails here (what `alembic revision --autogenerate` would
otherwise find later, in production)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from clinicflow.infra.db import Database
from clinicflow.schema import metadata

# The migrated schema and the declared tables, compared on each database.
pytestmark = pytest.mark.both_databases


def _differences(sync_conn: Connection) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


async def test_migrations_match_the_declared_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.read() as conn:
            diff = await conn.run_sync(_differences)
    finally:
        await db.dispose()
    assert diff == []
