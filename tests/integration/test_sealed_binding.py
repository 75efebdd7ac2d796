"""Sealed values are bound to their row: copied into another record they do not open; values
written before row binding still open, and `reseal` binds them (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update

from clinicflow.infra.crypto import DecryptionError, KeyRing, is_bound
from clinicflow.infra.db import Database
from clinicflow.infra.rekey import count_unbound, reseal_all
from clinicflow.notifications.domain.push import PushSubscription
from clinicflow.patients import PatientDetails, PatientDirectory
from clinicflow.patients.records.repository import PatientCipher
from clinicflow.patients.tables import patients, seal_context
from clinicflow.patients.views import PatientView
from clinicflow.sealed import SEALED
from clinicflow.shared.clock import FixedClock
from support.db import written
from support.notifications import browsers_of, save_browser

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@pytest.fixture
def db(database_of_test: Database) -> Database:
    return database_of_test


async def _patient(db: Database, ring: KeyRing, n: int) -> str:
    details = PatientDetails(f"Pat{n}", f"Example{n}", f"pat{n}@example.com", f"+1512555{n:04d}")
    async with written(db) as uow:
        conn = uow.connection
        patient_id, _ = await PatientDirectory(ring).match_or_create(conn, details, NOW)
    return patient_id


async def _view(db: Database, ring: KeyRing, patient_id: str) -> PatientView:
    async with db.read() as conn:
        row = (await conn.execute(select(patients).where(patients.c.id == patient_id))).one()
    return PatientCipher(ring).patient(row)


async def test_an_email_copied_from_one_patient_into_another_does_not_open(db: Database) -> None:
    ring = KeyRing.generate()
    ada, bea = await _patient(db, ring, 1), await _patient(db, ring, 2)
    async with written(db) as uow:
        conn = uow.connection
        ada_email = (
            await conn.execute(select(patients.c.email_enc).where(patients.c.id == ada))
        ).scalar_one()
        await conn.execute(update(patients).where(patients.c.id == bea).values(email_enc=ada_email))

    with pytest.raises(DecryptionError, match="of this row"):
        await _view(db, ring, bea)
    assert (await _view(db, ring, ada)).email == "pat1@example.com"
    # Resealing leaves the swapped value alone and names it, so nobody retires its key blind.
    report = await reseal_all(db, SEALED, ring.with_new_active_key())
    assert report.undecryptable == (("patients_patient", bea, "email_enc"),)


def _unbound(ring: KeyRing, plaintext: str, column: str) -> str:
    """A value as sealed before row binding: the column's context only."""
    nonce = os.urandom(12)
    body = AESGCM(ring.keys[ring.active]).encrypt(
        nonce, plaintext.encode(), seal_context(column).encode()
    )
    return f"{ring.active}:{base64.b64encode(nonce + body).decode()}"


async def test_values_from_before_row_binding_open_and_reseal_binds_them(db: Database) -> None:
    ring = KeyRing.generate()
    ada = await _patient(db, ring, 1)
    async with written(db) as uow:
        conn = uow.connection
        await conn.execute(
            update(patients)
            .where(patients.c.id == ada)
            .values(first_name_enc=_unbound(ring, "Ada", "first_name_enc"))
        )
    assert await count_unbound(db, SEALED) == 1
    assert (await _view(db, ring, ada)).first_name == "Ada"

    report = await reseal_all(db, SEALED, ring)  # the same key: binding is the only change

    assert (report.rows_resealed, report.values_resealed) == (1, 1)
    assert await count_unbound(db, SEALED) == 0
    async with db.read() as conn:
        token = (
            await conn.execute(select(patients.c.first_name_enc).where(patients.c.id == ada))
        ).scalar_one()
    assert is_bound(token)
    assert (await _view(db, ring, ada)).first_name == "Ada"


async def test_push_keys_bound_to_their_endpoint_survive_reseal(db: Database) -> None:
    ring = KeyRing.generate()
    clock = FixedClock(NOW)
    browser = PushSubscription("https://push.example/send/abc", "BPk" + "A" * 84, "c2VjcmV0")
    await save_browser(db, ring, "patient-1", browser, clock.now(), "Firefox")
    # The same browser again: the upsert keeps the row's id and rewrites its values.
    await save_browser(db, ring, "patient-1", browser, clock.now(), "Firefox")
    rotated = ring.with_new_active_key()

    report = await reseal_all(db, SEALED, rotated)

    assert report.undecryptable == ()
    assert report.values_by_table == {"notifications_push_subscription": 3}
    [device] = await browsers_of(db, rotated.retire(ring.active), "patient-1")
    assert device.subscription == browser
