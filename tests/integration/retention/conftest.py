"""The retention tests' database: migrated by the suite, the audit chain keyed by RING."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from clinicflow.infra.audit import use_key
from clinicflow.infra.db import Database
from support.retention_clinic import RING


@pytest.fixture
async def db(
    database_url: str, open_database: Callable[[str], Database]
) -> AsyncIterator[Database]:
    database = open_database(database_url)
    use_key(database, RING.audit_key)
    yield database
    await database.dispose()
