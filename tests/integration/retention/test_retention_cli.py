"""Retention on a real, migrated database (SQLite and PostgreSQL; the seeded clinic:
support/retention_clinic.py, the db fixture: this folder's conftest.py): `clinicflow retention
run` lists what is due, then applies it, and the checkpoint is kept outside the database too.

The clinic used throughout (NOW = 2026-11-24 15:00 UTC, default policy): patient cutoff
2019-11-24 15:00, audit cutoff 2020-11-24 15:00, holds cutoff 2026-10-25 15:00.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from clinicflow import cli_retention
from clinicflow.cli import app
from clinicflow.infra.audit import audit_checkpoints, use_key
from clinicflow.infra.audit_anchor import read
from clinicflow.infra.crypto import save
from clinicflow.infra.db import Database
from clinicflow.shared.clock import FixedClock
from support.migrated import migrated
from support.retention_clinic import NOW, RING, ROOT, seed_clinic

# Retention and the audit chain are SQL that each dialect must answer alike.
pytestmark = pytest.mark.both_databases


def test_cli_lists_what_is_due_then_applies_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    monkeypatch.setenv("CLINICFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CLINICFLOW_CONFIG_PATH", str(ROOT / "config" / "clinic.yaml"))
    monkeypatch.setenv("CLINICFLOW_KEYS_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("CLINICFLOW_DATA_DIR", str(tmp_path))
    save(tmp_path / "keys.json", RING)
    monkeypatch.setattr(cli_retention, "SystemClock", lambda: FixedClock(NOW))
    monkeypatch.setattr(cli_retention, "console", Console(width=240))
    asyncio.run(migrated(url))
    asyncio.run(_seed_file(url))
    runner = CliRunner()

    dry = runner.invoke(app, ["retention", "run"])
    assert dry.exit_code == 0, dry.output
    out = " ".join(dry.output.split())
    assert "dry run: nothing was changed; run with --apply to delete/de-identify" in out
    assert "p-never, p-noshow, p-old" in out
    assert "spared (legal hold) │ 1 │ p-hold" in out
    assert "prune oldest, keep a checkpoint │ 5 │ 1-5" in out
    applied = runner.invoke(app, ["retention", "run", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert (
        "deleted 2 expired holds; de-identified 3 patients (1 spared: legal hold); "
        "pruned 5 audit rows (through row 5; checkpoint written)"
    ) in " ".join(applied.output.split())
    # The pruning checkpoint is kept outside the database too, signed like a head.
    (kept,) = read(tmp_path / "audit-checkpoints.jsonl", RING.audit_key).heads
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "7 rows" in verified.output
    assert "matches 1 checkpoint(s) kept outside the database" in verified.output
    assert kept.seq == 5
    assert kept.hash == asyncio.run(_checkpoint_hash(url))


async def _checkpoint_hash(url: str) -> str:
    database = Database(url)
    try:
        async with database.read() as conn:
            found = await conn.execute(select(audit_checkpoints.c.through_hash))
            return str(found.scalar_one())
    finally:
        await database.dispose()


async def _seed_file(url: str) -> None:
    database = Database(url)
    use_key(database, RING.audit_key)
    try:
        await seed_clinic(database)
    finally:
        await database.dispose()
