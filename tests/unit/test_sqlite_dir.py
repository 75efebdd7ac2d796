"""Only an SQLite URL makes a directory: a server's URL is no path to create."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicflow.infra.db import ensure_sqlite_dir


def test_an_sqlite_url_gets_its_directory(tmp_path: Path) -> None:
    ensure_sqlite_dir(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'clinic.sqlite3'}")

    assert (tmp_path / "var").is_dir()


def test_a_postgresql_url_makes_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    ensure_sqlite_dir("postgresql+asyncpg://postgres@127.0.0.1:5432/clinic")

    assert list(tmp_path.iterdir()) == []
