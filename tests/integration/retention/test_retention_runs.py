"""Retention on a real, migrated database (SQLite and PostgreSQL; the seeded clinic:
support/retention_clinic.py, the db fixture: this folder's conftest.py): a dry run lists exactly
what is due and changes nothing; applying removes lapsed holds and de-identifies idle patients
in place (no PHI kept, ids and referrals kept), each leaving an audit row and an announcement to
the other contexts; a change after the dry run judged as it is now; patients in batches.

The clinic used throughout (NOW = 2026-11-24 15:00 UTC, default policy): patient cutoff
2019-11-24 15:00, audit cutoff 2020-11-24 15:00, holds cutoff 2026-10-25 15:00.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from clinicflow import retention
from clinicflow.booking.tables import appointments, idempotency_keys
from clinicflow.infra.audit import audit_checkpoints, audit_log, verify
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import outbox
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.patients.domain import retention as patients_retention
from clinicflow.patients.jobs import PatientRetention
from clinicflow.patients.tables import PHI_COLUMNS, patients
from support.retention_clinic import (
    DUE_HOLDS,
    DUE_PATIENTS,
    KEPT_HOLDS,
    KEPT_PATIENTS,
    NOW,
    POLICY,
    SPARED,
    add_visit,
    seed_clinic,
    snapshot,
    table_rows,
    utc_at,
)

# Retention and the audit chain are SQL that each dialect must answer alike.
pytestmark = pytest.mark.both_databases


async def test_a_dry_run_lists_exactly_what_is_due_and_changes_nothing(db: Database) -> None:
    await seed_clinic(db)
    before = await snapshot(db)
    plan = await retention.plan(db, POLICY, NOW)
    assert not plan.applied
    assert list(plan.expired_holds) == DUE_HOLDS
    assert list(plan.patients) == DUE_PATIENTS
    assert list(plan.patients_spared) == SPARED
    assert (plan.audit.rows, plan.audit.first_id, plan.audit.through_id) == (5, 1, 5)
    assert await snapshot(db) == before
    spared = [row for row in retention.rows(plan) if row.rule == "spared (legal hold)"]
    assert [(row.count, row.ids) for row in spared] == [(1, ("p-hold",))]


async def test_apply_removes_and_deidentifies_exactly_what_is_due(db: Database) -> None:
    await seed_clinic(db)
    before = await snapshot(db)
    done = await retention.apply(db, POLICY, NOW)
    assert done.applied
    assert list(done.expired_holds) == DUE_HOLDS
    assert list(done.patients) == DUE_PATIENTS
    assert list(done.patients_spared) == SPARED
    assert (done.audit.rows, done.audit.through_id, done.audit_refused) == (5, 5, None)
    after = await snapshot(db)
    assert {r[0] for r in after["booking_appointment"]} == KEPT_HOLDS
    assert {r.booking_id for r in await _keys(db)} == KEPT_HOLDS
    assert after["patients_visit"] == before["patients_visit"]  # visit history stays
    untouched = KEPT_PATIENTS | set(SPARED)
    assert [r for r in after["patients_patient"] if r[0] in untouched] == [
        r for r in before["patients_patient"] if r[0] in untouched
    ]


async def _keys(db: Database) -> list[Any]:
    async with db.read() as conn:
        return list((await conn.execute(select(idempotency_keys))).all())


async def test_deidentified_patients_keep_no_phi_but_keep_their_ids_and_referrals(
    db: Database,
) -> None:
    await seed_clinic(db)
    await retention.apply(db, POLICY, NOW)
    async with db.read() as conn:
        rows = (await conn.execute(select(patients).where(patients.c.id.in_(DUE_PATIENTS)))).all()
    assert len(rows) == len(DUE_PATIENTS)
    for row in rows:
        assert all(getattr(row, column) is None for column in PHI_COLUMNS), row.id
        assert (row.email_bidx, row.phone_bidx, row.notes_enc) == (None, None, None)
        assert (row.status, row.deidentified_at, row.updated_at) == ("deidentified", NOW, NOW)
        assert (row.referral_source, row.referred_by_patient_id) == ("patient", "p-referrer")
        assert row.contact_prefs == {}
        assert row.version == 2


async def test_each_deidentification_and_the_prune_leave_an_audit_row(db: Database) -> None:
    await seed_clinic(db)
    await retention.apply(db, POLICY, NOW)
    async with db.read() as conn:
        rows = (await conn.execute(select(audit_log).order_by(audit_log.c.id))).all()
        (checkpoint,) = (await conn.execute(select(audit_checkpoints))).all()
        result = await verify(conn)
    assert [r.id for r in rows] == [6, 7, 8, 9, 10, 11, 12]
    retained = [(r.actor_type, r.actor_id, r.role, r.action, r.resource_type) for r in rows[3:]]
    assert retained == [("system", "retention", "system", "deidentify", "patient")] * 3 + [
        ("system", "retention", "system", "prune", "audit_log")
    ]
    assert [(r.resource_id, r.patient_id) for r in rows[3:]] == [
        *((p, p) for p in DUE_PATIENTS),
        ("through:5", None),
    ]
    assert (checkpoint.through_id, checkpoint.rows_pruned) == (5, 5)
    assert (checkpoint.cutoff, checkpoint.created_at) == (utc_at(2020, 11, 24, 15), NOW)
    assert checkpoint.through_hash == rows[0].prev_hash
    assert (result.ok, result.checked, result.pruned_through) == (True, 7, 5)


async def test_a_change_after_the_dry_run_is_judged_as_it_is_now(db: Database) -> None:
    await seed_clinic(db)
    plan = await retention.plan(db, POLICY, NOW)
    assert "p-old" in plan.patients
    async with UnitOfWork(db) as uow:
        conn = uow.connection
        await add_visit(conn, "p-old", "held", NOW + timedelta(days=3))
        await conn.execute(
            patients.update().where(patients.c.id == "p-never").values(legal_hold=True)
        )
        await conn.execute(
            appointments.update()
            .where(appointments.c.id == "a-held-old")
            .values(status="confirmed")
        )
        await uow.commit()
    done = await retention.apply(db, POLICY, NOW)
    assert list(done.patients) == ["p-noshow"]
    assert list(done.patients_spared) == ["p-hold", "p-never"]
    assert list(done.expired_holds) == ["a-expired-old"]


async def test_patients_go_in_batches_and_a_second_run_finds_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_clinic(db)
    monkeypatch.setattr(patients_retention, "BATCH", 2)
    sizes: list[int] = []
    real = PatientRetention.deidentify_batch

    async def counted(*args: Any, **kwargs: Any) -> patients_retention.Batch:
        batch = await real(*args, **kwargs)
        sizes.append(len(batch.deidentified))
        return batch

    monkeypatch.setattr(PatientRetention, "deidentify_batch", counted)
    first = await retention.apply(db, POLICY, NOW)
    again = await retention.apply(db, POLICY, NOW)
    assert list(first.patients) == DUE_PATIENTS
    assert sizes == [2, 1, 0]  # two batches, then the second run's empty one
    assert (again.expired_holds, again.patients, again.audit.rows) == ((), (), 0)
    assert list(again.patients_spared) == SPARED
    async with db.read() as conn:
        assert len(await table_rows(conn, audit_checkpoints)) == 1  # no second, empty prune
        assert (await verify(conn)).ok


async def test_each_deidentified_patient_is_announced_to_the_other_contexts(
    db: Database,
) -> None:
    await seed_clinic(db)
    done = await retention.apply(db, POLICY, NOW)
    async with db.read() as conn:
        query = select(outbox.c.aggregate_id, outbox.c.payload).where(
            outbox.c.type == "patient.deidentified"
        )
        announced = sorted((r.aggregate_id, r.payload) for r in await conn.execute(query))
    assert announced == [(pid, {"patient_id": pid}) for pid in sorted(done.patients)]
