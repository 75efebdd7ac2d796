"""The embedded SQLite database and the PHI key file are made readable by their owner only
(mode 0600), whatever the process umask would have allowed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from clinicflow.infra.crypto import create
from clinicflow.infra.db import Database
from clinicflow.infra.migrate import upgrade
from clinicflow.infra.unit_of_work import UnitOfWork


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: a file gets exactly the mode its creator asks for."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_sqlite_database_and_its_journal_files_are_0600(
    tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "data" / "clinicflow.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"

    await upgrade(url)
    db = Database(url)
    try:
        async with UnitOfWork(db) as uow:  # leaves the -wal and -shm files in place
            conn = uow.connection
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            files = sorted(tmp_path.joinpath("data").iterdir())
            modes = {p.name: oct(_mode(p)) for p in files}
            await uow.commit()
    finally:
        await db.dispose()

    assert f"{path.name}-wal" in modes
    assert set(modes.values()) == {oct(0o600)}, modes


def test_the_key_file_is_0600(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "keys.json"

    create(path)

    assert _mode(path) == 0o600
