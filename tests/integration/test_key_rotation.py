"""Key rotation over a real, migrated database: SQLite, and PostgreSQL when reachable.

Data sealed under the old key reads after a new key is added; re-encryption moves every
value to the new key in batches; only then can the old key be retired.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from clinicflow.bootstrap import build
from clinicflow.identity import TOTP_CONTEXT
from clinicflow.identity.tables import users
from clinicflow.identity.users.domain import totp
from clinicflow.infra.crypto import (
    DecryptionError,
    KeyFileBusy,
    KeyRing,
    key_file_lock,
    load,
    save,
)
from clinicflow.infra.db import Database
from clinicflow.infra.rekey import (
    KeyStillInUse,
    ResealReport,
    _reseal_row,
    _stale_rows,
    _Tally,
    add_key,
    count_by_key,
    reseal_all,
    retire,
    rotate,
)
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.patients import PatientDetails, PatientDirectory
from clinicflow.patients.tables import PHI_COLUMNS, patients, seal_context
from clinicflow.schema import metadata
from clinicflow.sealed import SEALED
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock

# Key rotation rewrites sealed columns in batches, in each dialect's SQL.
pytestmark = pytest.mark.both_databases

PATIENTS = next(s for s in SEALED if s.table is patients)
STAFF_PASSWORD = "a long enough password"

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
Plain = tuple[str | None, ...]


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


def details(n: int) -> PatientDetails:
    # Every third patient gives a phone only, so NULL columns are part of every run.
    email = None if n % 3 == 0 else f"pat{n}@example.com"
    return PatientDetails(f"Pat{n}", f"Example{n}", email, f"+1512555{n:04d}")


async def create_patients(db: Database, keys: KeyRing, count: int, start: int = 1) -> None:
    directory = PatientDirectory(keys)
    async with UnitOfWork(db) as uow:
        conn = uow.connection
        for n in range(start, start + count):
            await directory.match_or_create(conn, details(n), NOW)
        await uow.commit()


async def read_all(db: Database, keys: KeyRing) -> dict[str, Plain]:
    """Every patient's PHI in plaintext; raises if any value does not decrypt with `keys`."""
    columns = [patients.c[c] for c in PHI_COLUMNS]
    async with db.read() as conn:
        rows = (await conn.execute(select(patients.c.id, *columns))).all()
    return {
        row.id: tuple(
            None
            if row._mapping[c] is None
            else keys.decrypt(row._mapping[c], context=seal_context(c), row=row.id)
            for c in PHI_COLUMNS
        )
        for row in rows
    }


async def sealed_values(db: Database) -> list[str]:
    async with db.read() as conn:
        rows = (await conn.execute(select(*(patients.c[c] for c in PHI_COLUMNS)))).all()
    return [value for row in rows for value in row if value is not None]


async def only_patient_id(db: Database) -> str:
    async with db.read() as conn:
        return str((await conn.execute(select(patients.c.id))).scalar_one())


def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


async def test_data_sealed_under_the_old_key_reads_after_a_new_key_is_added(db: Database) -> None:
    old = KeyRing.generate()
    await create_patients(db, old, 4)
    before = await read_all(db, old)

    new = old.with_new_active_key()

    assert await read_all(db, new) == before
    assert await count_by_key(db, SEALED) == {old.active: len(await sealed_values(db))}


async def test_after_resealing_every_value_names_the_new_key_and_the_old_one_can_go(
    db: Database,
) -> None:
    old = KeyRing.generate()
    await create_patients(db, old, 7)
    before = await read_all(db, old)
    new = old.with_new_active_key()

    report = await reseal_all(db, SEALED, new, batch=3)

    values = await sealed_values(db)
    assert await count_by_key(db, SEALED) == {new.active: len(values)}
    assert report.values_resealed == len(values)
    assert report.rows_resealed == 7
    assert report.batches == 3  # 3 + 3 + 1 rows: keyset pages, each its own transaction
    assert await read_all(db, new.retire(old.active)) == before


async def test_resealing_twice_touches_nothing_the_second_time(db: Database) -> None:
    old = KeyRing.generate()
    await create_patients(db, old, 5)
    new = old.with_new_active_key()
    await reseal_all(db, SEALED, new, batch=2)
    after_first = await sealed_values(db)

    second = await reseal_all(db, SEALED, new, batch=2)

    assert second == ResealReport()
    assert await sealed_values(db) == after_first


async def test_new_patients_created_mid_rotation_under_the_old_key_are_resealed_later(
    db: Database,
) -> None:
    old = KeyRing.generate()
    await create_patients(db, old, 2)
    new = old.with_new_active_key()
    await reseal_all(db, SEALED, new)
    # A server process that has not reloaded the key file still seals with the old key.
    await create_patients(db, old, 2, start=10)

    assert set(await count_by_key(db, SEALED)) == {old.active, new.active}
    await reseal_all(db, SEALED, new)
    assert set(await count_by_key(db, SEALED)) == {new.active}


async def test_an_interrupted_reseal_resumes_where_it_stopped(db: Database) -> None:
    old = KeyRing.generate()
    await create_patients(db, old, 6)
    new = old.with_new_active_key()

    def crash_after_first_batch(report: ResealReport) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await reseal_all(db, SEALED, new, batch=2, on_batch=crash_after_first_batch)

    counts = await count_by_key(db, SEALED)
    assert counts[new.active] > 0
    assert counts[old.active] > 0  # the first batch committed, the rest did not start
    resumed = await reseal_all(db, SEALED, new, batch=2)
    assert resumed.rows_resealed == 4
    assert set(await count_by_key(db, SEALED)) == {new.active}


async def test_a_value_rewritten_meanwhile_is_kept_not_overwritten(db: Database) -> None:
    old = KeyRing.generate()
    await create_patients(db, old, 1)
    new = old.with_new_active_key()
    tally = _Tally()
    async with UnitOfWork(db) as uow:
        conn = uow.connection
        [row] = await _stale_rows(conn, PATIENTS, new.active, None, 10)
        # The application renames the patient after the reseal read the row.
        renamed = old.encrypt("Renamed", context=seal_context("first_name_enc"), row=row.id)
        await conn.execute(
            update(patients).where(patients.c.id == row.id).values(first_name_enc=renamed)
        )
        await _reseal_row(conn, new, PATIENTS, row, tally)
        await uow.commit()

    assert tally.changed == 1
    assert tally.rows == 0
    [plain] = (await read_all(db, new)).values()
    assert plain[0] == "Renamed"


async def test_a_value_moved_to_another_column_does_not_decrypt(db: Database) -> None:
    old = KeyRing.generate()
    await create_patients(db, old, 1)
    async with UnitOfWork(db) as uow:
        conn = uow.connection
        await conn.execute(update(patients).values(last_name_enc=patients.c.first_name_enc))
        await uow.commit()
    new = old.with_new_active_key()

    with pytest.raises(DecryptionError, match="last_name"):
        await read_all(db, new)
    report = await reseal_all(db, SEALED, new)

    assert report.undecryptable == (
        ("patients_patient", await only_patient_id(db), "last_name_enc"),
    )
    # Left as it was, and still counted under the old key, so that key cannot be retired.
    assert (await count_by_key(db, SEALED)).get(old.active) == 1


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


def test_every_sealed_column_of_the_patient_table_is_resealed() -> None:
    # A new *_enc column left out of PHI_COLUMNS would keep its old key forever.
    sealed = {c.name for c in patients.c if c.name.endswith("_enc")}

    assert sealed == set(PHI_COLUMNS)


def test_every_sealed_column_of_every_table_is_registered_for_rotation() -> None:
    # A `*_enc` column anywhere that `clinicflow.sealed` leaves out would keep its old key,
    # and retiring that key would make its values undecryptable.
    everywhere = {
        (table.name, column.name)
        for table in metadata.tables.values()
        for column in table.c
        if column.name.endswith("_enc")
    }
    registered = {(s.table.name, c) for s in SEALED for c in s.columns}

    assert registered == everywhere
    assert all([c.name for c in s.table.primary_key] == [s.key_column] for s in SEALED)


async def staff_totp_secret(db: Database, keys: KeyRing) -> str:
    async with db.read() as conn:
        user_id, sealed = (await conn.execute(select(users.c.id, users.c.totp_secret_enc))).one()
    return keys.decrypt(sealed, context=TOTP_CONTEXT, row=user_id)


async def test_rotate_and_retire_keep_totp_secrets_and_signing_keys_working(
    db: Database, settings: Settings, clock: FixedClock
) -> None:
    container = build(settings, clock=clock)
    try:
        old = container.keys
        await container.identity.users.create("boss", "admin", STAFF_PASSWORD)
        kid = await container.identity.tokens.rotate()
        client, api_key = await container.identity.apikeys.create("x", "y", ["bookings:read"])
        secret = api_key.removeprefix(f"cfk_{client.id}_")
        issued = await container.identity.tokens.client_credentials(client.id, secret, None)
    finally:
        await container.aclose()
    totp_secret = await staff_totp_secret(db, old)
    key_file = settings.resolved_keys_file

    report = await rotate(db, SEALED, key_file)
    remaining = await retire(db, SEALED, key_file, old.active)

    assert report.reseal.values_by_table == {"identity_user": 1, "identity_signing_key": 1}
    assert report.counts == {remaining.active: 2}
    assert old.active not in remaining.keys
    assert await staff_totp_secret(db, remaining) == totp_secret
    rebuilt = build(settings, clock=clock)  # a restarted process, reading the rotated file
    try:
        assert rebuilt.keys == remaining
        assert [k["kid"] for k in (await rebuilt.identity.tokens.jwks())["keys"]] == [kid]
        claims, verified = await rebuilt.identity.tokens.verify(issued.access_token)
        assert claims["sub"] == verified.id == client.id
        code = totp.code_at(totp_secret, clock.now())
        _, signed_in = await rebuilt.identity.users.login("boss", STAFF_PASSWORD, code)
        assert signed_in.username == "boss"
    finally:
        await rebuilt.aclose()


@pytest.mark.parametrize(
    ("sealed_in", "table"),
    [("totp", "identity_user"), ("signing_key", "identity_signing_key")],
)
async def test_retire_is_refused_while_an_identity_secret_is_under_the_key(
    db: Database, settings: Settings, clock: FixedClock, sealed_in: str, table: str
) -> None:
    container = build(settings, clock=clock)
    try:
        if sealed_in == "totp":
            await container.identity.users.create("boss", "admin", STAFF_PASSWORD)
        else:
            await container.identity.tokens.rotate()
    finally:
        await container.aclose()
    key_file = settings.resolved_keys_file
    old = load(key_file)
    save(key_file, old.with_new_active_key())  # a new key, but nothing resealed yet
    file_before = file_bytes(key_file)

    with pytest.raises(KeyStillInUse) as refused:
        await retire(db, SEALED, key_file, old.active)

    assert "1 encrypted values still use key" in refused.value.detail
    assert f"({table}: 1)" in refused.value.detail
    assert file_bytes(key_file) == file_before
    assert await count_by_key(db, SEALED) == {old.active: 1}


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
