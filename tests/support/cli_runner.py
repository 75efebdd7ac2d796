"""The `clinicflow` CLI run in this process (typer's `CliRunner`) against a migrated SQLite
file of the test's own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from support.migrated import migrated

ROOT = Path(__file__).resolve().parents[2]


def migrated_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands find (by their environment) a migrated database, a key ring
    file and a data directory in `tmp_path`, and the shipped clinic configuration."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    monkeypatch.setenv("CLINICFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CLINICFLOW_KEYS_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("CLINICFLOW_CONFIG_PATH", str(ROOT / "config" / "clinic.yaml"))
    monkeypatch.setenv("CLINICFLOW_DATA_DIR", str(tmp_path))
    asyncio.run(migrated(url))
    return CliRunner()


def ok(result: Result) -> str:
    """The output of a command that succeeded, its white space folded (rich may wrap long
    lines)."""
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())
