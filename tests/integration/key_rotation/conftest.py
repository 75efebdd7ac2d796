"""The key rotation tests' fixtures: the migrated database and a key file holding one generated
key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicflow.infra.crypto import KeyRing, save
from clinicflow.infra.db import Database


@pytest.fixture
def db(database_of_test: Database) -> Database:
    return database_of_test


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    save(path, KeyRing.generate())
    return path
