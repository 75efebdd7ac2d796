"""Key rotation over a real, migrated database: SQLite, and PostgreSQL when reachable (helpers:
support/sealed_patients.py; the db and key_file fixtures: this folder's conftest.py). Data
sealed under the old key reads after a new key is added; re-encryption moves every value to the
new key in batches (twice touches nothing, patients created mid-rotation resealed later, an
interrupted reseal resumes, a value rewritten meanwhile kept, a value moved to another column
does not decrypt); every sealed column registered for rotation.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from clinicflow.infra.crypto import DecryptionError, KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.rekey import (
    ResealReport,
    _reseal_row,
    _stale_rows,
    _Tally,
    count_by_key,
    reseal_all,
)
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.patients.tables import PHI_COLUMNS, patients, seal_context
from clinicflow.schema import metadata
from clinicflow.sealed import SEALED
from support.sealed_patients import (
    PATIENTS,
    create_patients,
    only_patient_id,
    read_all,
    sealed_values,
)

# Key rotation rewrites sealed columns in batches, in each dialect's SQL.
pytestmark = pytest.mark.both_databases


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
