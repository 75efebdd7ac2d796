"""The clinic the retention tests (tests/integration/retention/) seed: patients, visits, holds and
audit rows either side of the default policy's cutoffs at NOW = 2026-11-24 15:00 UTC (patients
2019-11-24, audit 2020-11-24, holds 2026-10-25), what is due and what is kept, and the tables'
rows read back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.tables import appointments, idempotency_keys
from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra.audit import AuditEntry, audit_checkpoints, audit_log
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.patients.tables import PHI_COLUMNS, patients, visits

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
RING = KeyRing.generate()  # keys the audit chain
POLICY = RetentionPolicy()
ROOT = Path(__file__).resolve().parents[2]
TABLES = (patients, visits, appointments, idempotency_keys, audit_log, audit_checkpoints)

DUE_HOLDS = ["a-held-old", "a-expired-old"]  # oldest first (by created_at)
KEPT_HOLDS = {"a-held-recent", "a-expired-recent", "a-held-live", "a-cancelled-old", "a-done-old"}
DUE_PATIENTS = ["p-never", "p-noshow", "p-old"]  # id order
SPARED = ["p-hold"]
KEPT_PATIENTS = {"p-recent", "p-upcoming", "p-edge", "p-new", "p-gone"}


def utc_at(year: int, month: int = 1, day: int = 1, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def add_patient(conn: AsyncConnection, pid: str, created: datetime, **extra: Any) -> None:
    values: dict[str, Any] = {c: f"k1:{c}-{pid}" for c in PHI_COLUMNS}
    values |= {"id": pid, "email_bidx": f"e-{pid}", "phone_bidx": f"t-{pid}", "sex": "female"}
    values |= {"contact_prefs": {"email": {"opt_in": True}}, "referral_source": "patient"}
    values |= {"referred_by_patient_id": "p-referrer", "created_at": created}
    await conn.execute(insert(patients).values(updated_at=created, **values | extra))


async def add_visit(conn: AsyncConnection, pid: str, status: str, start: datetime) -> None:
    await conn.execute(
        insert(visits).values(
            booking_id=f"v-{pid}-{start:%Y%m%d}",
            patient_id=pid,
            service="alternative_medicine",
            visit_type="initial",
            practitioner="doctor1",
            status=status,
            start_at=start,
            end_at=start + timedelta(minutes=15),
            updated_at=start,
        )
    )


async def add_appointment(
    conn: AsyncConnection, aid: str, status: str, changed: datetime, expires: datetime | None
) -> None:
    start = changed + timedelta(days=1)  # distinct per row: no two overlap on PostgreSQL
    end = start + timedelta(minutes=15)
    await conn.execute(
        insert(appointments).values(
            id=aid,
            service="alternative_medicine",
            visit_type="initial",
            duration_min=15,
            practitioner="doctor1",
            status=status,
            start_at=start,
            end_at=end,
            block_start=start,
            block_end=end,
            hold_expires_at=expires,
            created_at=changed - timedelta(minutes=10),
            updated_at=changed,
        )
    )
    await conn.execute(
        insert(idempotency_keys).values(
            client_id="web",
            key=f"k-{aid}",
            request_hash="0" * 64,
            booking_id=aid,
            created_at=changed,
        )
    )


async def seed_clinic(db: Database) -> None:
    async with UnitOfWork(db) as uow:
        conn = uow.connection
        await add_patient(conn, "p-old", utc_at(2015))
        await add_visit(conn, "p-old", "completed", utc_at(2018, 3))
        await add_visit(conn, "p-old", "cancelled", utc_at(2024, 5))  # a cancellation is no contact
        await add_patient(conn, "p-never", utc_at(2018))
        await add_patient(conn, "p-noshow", utc_at(2015))
        await add_visit(conn, "p-noshow", "no_show", utc_at(2019, 11, 24, 14))
        await add_patient(conn, "p-hold", utc_at(2015), legal_hold=True)
        await add_visit(conn, "p-hold", "completed", utc_at(2016))
        await add_patient(conn, "p-recent", utc_at(2015))
        await add_visit(conn, "p-recent", "completed", utc_at(2015, 6))
        await add_visit(conn, "p-recent", "checked_in", utc_at(2021, 6))
        await add_patient(conn, "p-upcoming", utc_at(2015))
        await add_visit(conn, "p-upcoming", "completed", utc_at(2016))
        await add_visit(conn, "p-upcoming", "confirmed", NOW + timedelta(days=7))
        await add_patient(conn, "p-edge", utc_at(2015))
        await add_visit(conn, "p-edge", "completed", utc_at(2019, 11, 24, 15))  # exactly the cutoff
        await add_patient(conn, "p-new", utc_at(2026, 11))
        await add_patient(conn, "p-gone", utc_at(2010), status="deidentified")
        await add_appointment(conn, "a-held-old", "held", utc_at(2026, 9), utc_at(2026, 9, 1, 13))
        await add_appointment(conn, "a-expired-old", "expired", utc_at(2026, 10, 20), None)
        await add_appointment(
            conn, "a-held-recent", "held", utc_at(2026, 11, 10), utc_at(2026, 11, 10)
        )
        await add_appointment(conn, "a-expired-recent", "expired", utc_at(2026, 11, 19), None)
        await add_appointment(conn, "a-held-live", "held", NOW, NOW + timedelta(minutes=10))
        await add_appointment(conn, "a-cancelled-old", "cancelled", utc_at(2020, 2), None)
        await add_appointment(conn, "a-done-old", "completed", utc_at(2020, 3), None)
        await uow.commit()
    # Audit rows 1-5 are past the 6 years, 6-8 are not.
    for n, at in enumerate(
        [*(utc_at(2019, m) for m in range(1, 6)), *(utc_at(2022, m) for m in (1, 2, 3))]
    ):
        async with UnitOfWork(db) as uow:
            uow.audit(AuditEntry("user", "u1", "front_desk", "read", "patient", f"r{n}"), at)
            await uow.commit()


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with db.read() as conn:
        return {t.name: await table_rows(conn, t) for t in TABLES}


async def table_rows(conn: AsyncConnection, table: Table) -> list[tuple[Any, ...]]:
    key = list(table.primary_key.columns)
    return [tuple(row) for row in (await conn.execute(select(table).order_by(*key))).all()]


async def run_sql(db: Database, statement: str) -> None:
    async with UnitOfWork(db) as uow:
        await uow.connection.execute(text(statement))
        await uow.commit()
