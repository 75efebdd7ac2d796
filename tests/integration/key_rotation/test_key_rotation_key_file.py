"""Key rotation over a real, migrated database: SQLite, and PostgreSQL when reachable (helpers:
support/sealed_patients.py; the db and key_file fixtures: this folder's conftest.py). The key
file: rotate saves a private file that still loads, retire removes the old key once no data is
under it (refused while some is), one key operation at a time, saves atomic and private, a
staged key made active.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from clinicflow.infra.crypto import KeyFileBusy, KeyRing, key_file_lock, load, save
from clinicflow.infra.db import Database
from clinicflow.infra.rekey import KeyStillInUse, add_key, count_by_key, retire, rotate
from clinicflow.sealed import SEALED
from support.sealed_patients import create_patients, file_bytes, read_all, sealed_values

# Key rotation rewrites sealed columns in batches, in each dialect's SQL.
pytestmark = pytest.mark.both_databases


async def test_rotate_saves_a_private_key_file_that_still_loads(
    db: Database, key_file: Path
) -> None:
    old = load(key_file)
    await create_patients(db, old, 3)
    before = await read_all(db, old)

    report = await rotate(db, SEALED, key_file)

    mode = stat.S_IMODE(os.stat(key_file).st_mode)
    assert mode == 0o600
    ring = load(key_file)
    assert ring.active == report.active_key != report.previous_key == old.active
    assert set(ring.keys) == {old.active, ring.active}
    assert report.counts == {ring.active: len(await sealed_values(db))}
    assert await read_all(db, ring) == before
    assert [p.name for p in key_file.parent.iterdir() if p.name.endswith(".tmp")] == []


async def test_retire_after_rotate_removes_the_old_key_and_data_still_reads(
    db: Database, key_file: Path
) -> None:
    old = load(key_file)
    await create_patients(db, old, 3)
    before = await read_all(db, old)
    await rotate(db, SEALED, key_file)

    remaining = await retire(db, SEALED, key_file, old.active)

    assert load(key_file) == remaining
    assert old.active not in remaining.keys
    assert await read_all(db, remaining) == before


async def test_retiring_a_key_still_in_use_is_refused_and_changes_nothing(
    db: Database, key_file: Path
) -> None:
    old = load(key_file)
    await create_patients(db, old, 2)
    save(key_file, old.with_new_active_key())  # a new key, but nothing resealed yet
    file_before = file_bytes(key_file)
    values_before = await sealed_values(db)

    with pytest.raises(KeyStillInUse) as refused:
        await retire(db, SEALED, key_file, old.active)

    assert f"{len(values_before)} encrypted values still use key" in refused.value.detail
    assert "rotate" in refused.value.detail
    assert file_bytes(key_file) == file_before
    assert await sealed_values(db) == values_before


async def test_a_second_key_operation_on_the_same_file_is_refused_while_one_runs(
    db: Database, key_file: Path
) -> None:
    with key_file_lock(key_file), pytest.raises(KeyFileBusy):
        await rotate(db, SEALED, key_file)

    assert len(load(key_file).keys) == 1


def test_save_replaces_the_file_atomically_and_privately(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("old contents")
    path.chmod(0o644)
    ring = KeyRing.generate()

    save(path, ring)

    assert load(path) == ring
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]


def test_a_save_that_fails_midway_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    original = KeyRing.generate()
    save(path, original)

    def disk_fails(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_fails)
    with pytest.raises(OSError, match="disk full"):
        save(path, original.with_new_active_key())

    monkeypatch.undo()
    assert load(path) == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]


async def test_a_staged_key_becomes_active_by_rotate_activate(db: Database, key_file: Path) -> None:
    old = load(key_file)
    await create_patients(db, old, 2)
    before = await read_all(db, old)

    staged = add_key(key_file)

    assert load(key_file).active == old.active  # staged: opens, but seals nothing yet
    assert await count_by_key(db, SEALED) == {old.active: len(await sealed_values(db))}
    report = await rotate(db, SEALED, key_file, activate=staged)
    assert report.active_key == staged == load(key_file).active
    assert report.counts == {staged: len(await sealed_values(db))}
    assert await read_all(db, load(key_file).retire(old.active)) == before
