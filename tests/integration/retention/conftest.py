"""The retention tests' database: migrated by the suite, the audit chain keyed by RING."""

from __future__ import annotations

import pytest

from clinicflow.infra.audit import use_key
from clinicflow.infra.db import Database
from support.retention_clinic import RING


@pytest.fixture
def db(database_of_test: Database) -> Database:
    use_key(database_of_test, RING.audit_key)
    return database_of_test
