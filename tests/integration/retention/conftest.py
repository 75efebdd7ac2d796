"""The retention tests' database: migrated by the suite, the audit chain keyed by RING."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from clinicflow.infra.audit import use_key
from clinicflow.infra.db import Database
from support.retention_clinic import RING


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    use_key(database, RING.audit_key)
    yield database
    await database.dispose()
