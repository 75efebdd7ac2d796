"""The key rotation tests' fixtures: the migrated database and a key file holding one generated
key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clinicflow.infra.crypto import KeyRing, save
from clinicflow.infra.db import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    save(path, KeyRing.generate())
    return path
