"""What the key rotation tests (tests/integration/key_rotation/) share: patients created sealed
under a key ring, read back in clear, their sealed values as stored, and a staff password.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.patients import PatientDetails, PatientDirectory
from clinicflow.patients.tables import PHI_COLUMNS, patients, seal_context
from clinicflow.sealed import SEALED

PATIENTS = next(s for s in SEALED if s.table is patients)
STAFF_PASSWORD = "a long enough password"

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
Plain = tuple[str | None, ...]


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
