"""The key rotation tests' fixtures: the migrated database and a key file holding one generated
key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from clinicflow.infra.crypto import KeyRing, save
from clinicflow.infra.db import Database


@pytest.fixture
async def db(
    database_url: str, open_database: Callable[[str], Database]
) -> AsyncIterator[Database]:
    database = open_database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    save(path, KeyRing.generate())
    return path
