"""Retention on a real, migrated database (SQLite and PostgreSQL): lapsed holds deleted, idle
patients de-identified in place, the audit log pruned behind a checkpoint it verifies from.

The clinic used throughout (NOW = 2026-11-24 15:00 UTC, default policy): patient cutoff
2019-11-24 15:00, audit cutoff 2020-11-24 15:00, holds cutoff 2026-10-25 15:00.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from clinicflow import cli_retention, retention
from clinicflow.booking.tables import appointments, idempotency_keys
from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.cli import app
from clinicflow.infra import audit_retention
from clinicflow.infra.audit import (
    AuditEntry,
    append,
    audit_checkpoints,
    audit_log,
    use_key,
    verify,
)
from clinicflow.infra.audit_anchor import read
from clinicflow.infra.crypto import KeyRing, save
from clinicflow.infra.db import Database
from clinicflow.infra.migrate import upgrade
from clinicflow.infra.outbox import outbox
from clinicflow.patients.domain import retention as patients_retention
from clinicflow.patients.jobs import PatientRetention
from clinicflow.patients.tables import PHI_COLUMNS, patients, visits
from clinicflow.shared.clock import FixedClock

# Retention and the audit chain are SQL that each dialect must answer alike.
pytestmark = pytest.mark.both_databases

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


def _at(year: int, month: int = 1, day: int = 1, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    use_key(database, RING.audit_key)
    yield database
    await database.dispose()


async def _patient(conn: AsyncConnection, pid: str, created: datetime, **extra: Any) -> None:
    values: dict[str, Any] = {c: f"k1:{c}-{pid}" for c in PHI_COLUMNS}
    values |= {"id": pid, "email_bidx": f"e-{pid}", "phone_bidx": f"t-{pid}", "sex": "female"}
    values |= {"contact_prefs": {"email": {"opt_in": True}}, "referral_source": "patient"}
    values |= {"referred_by_patient_id": "p-referrer", "created_at": created}
    await conn.execute(insert(patients).values(updated_at=created, **values | extra))


async def _visit(conn: AsyncConnection, pid: str, status: str, start: datetime) -> None:
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


async def _appointment(
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


async def _seed(db: Database) -> None:
    async with db.write() as conn:
        await _patient(conn, "p-old", _at(2015))
        await _visit(conn, "p-old", "completed", _at(2018, 3))
        await _visit(conn, "p-old", "cancelled", _at(2024, 5))  # a cancellation is no contact
        await _patient(conn, "p-never", _at(2018))
        await _patient(conn, "p-noshow", _at(2015))
        await _visit(conn, "p-noshow", "no_show", _at(2019, 11, 24, 14))
        await _patient(conn, "p-hold", _at(2015), legal_hold=True)
        await _visit(conn, "p-hold", "completed", _at(2016))
        await _patient(conn, "p-recent", _at(2015))
        await _visit(conn, "p-recent", "completed", _at(2015, 6))
        await _visit(conn, "p-recent", "checked_in", _at(2021, 6))
        await _patient(conn, "p-upcoming", _at(2015))
        await _visit(conn, "p-upcoming", "completed", _at(2016))
        await _visit(conn, "p-upcoming", "confirmed", NOW + timedelta(days=7))
        await _patient(conn, "p-edge", _at(2015))
        await _visit(conn, "p-edge", "completed", _at(2019, 11, 24, 15))  # exactly the cutoff
        await _patient(conn, "p-new", _at(2026, 11))
        await _patient(conn, "p-gone", _at(2010), status="deidentified")
        await _appointment(conn, "a-held-old", "held", _at(2026, 9), _at(2026, 9, 1, 13))
        await _appointment(conn, "a-expired-old", "expired", _at(2026, 10, 20), None)
        await _appointment(conn, "a-held-recent", "held", _at(2026, 11, 10), _at(2026, 11, 10))
        await _appointment(conn, "a-expired-recent", "expired", _at(2026, 11, 19), None)
        await _appointment(conn, "a-held-live", "held", NOW, NOW + timedelta(minutes=10))
        await _appointment(conn, "a-cancelled-old", "cancelled", _at(2020, 2), None)
        await _appointment(conn, "a-done-old", "completed", _at(2020, 3), None)
    # Audit rows 1-5 are past the 6 years, 6-8 are not.
    for n, at in enumerate(
        [*(_at(2019, m) for m in range(1, 6)), *(_at(2022, m) for m in (1, 2, 3))]
    ):
        async with db.write() as conn:
            entry = AuditEntry("user", "u1", "front_desk", "read", "patient", f"r{n}")
            await append(conn, entry, at)


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with db.read() as conn:
        return {t.name: await _rows(conn, t) for t in TABLES}


async def _rows(conn: AsyncConnection, table: Table) -> list[tuple[Any, ...]]:
    key = list(table.primary_key.columns)
    return [tuple(row) for row in (await conn.execute(select(table).order_by(*key))).all()]


async def _sql(db: Database, statement: str) -> None:
    async with db.write() as conn:
        await conn.execute(text(statement))


async def test_a_dry_run_lists_exactly_what_is_due_and_changes_nothing(db: Database) -> None:
    await _seed(db)
    before = await _snapshot(db)
    plan = await retention.plan(db, POLICY, NOW)
    assert not plan.applied
    assert list(plan.expired_holds) == DUE_HOLDS
    assert list(plan.patients) == DUE_PATIENTS
    assert list(plan.patients_spared) == SPARED
    assert (plan.audit.rows, plan.audit.first_id, plan.audit.through_id) == (5, 1, 5)
    assert await _snapshot(db) == before
    spared = [row for row in retention.rows(plan) if row.rule == "spared (legal hold)"]
    assert [(row.count, row.ids) for row in spared] == [(1, ("p-hold",))]


async def test_apply_removes_and_deidentifies_exactly_what_is_due(db: Database) -> None:
    await _seed(db)
    before = await _snapshot(db)
    done = await retention.apply(db, POLICY, NOW)
    assert done.applied
    assert list(done.expired_holds) == DUE_HOLDS
    assert list(done.patients) == DUE_PATIENTS
    assert list(done.patients_spared) == SPARED
    assert (done.audit.rows, done.audit.through_id, done.audit_refused) == (5, 5, None)
    after = await _snapshot(db)
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
    await _seed(db)
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
    await _seed(db)
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
    assert (checkpoint.cutoff, checkpoint.created_at) == (_at(2020, 11, 24, 15), NOW)
    assert checkpoint.through_hash == rows[0].prev_hash
    assert (result.ok, result.checked, result.pruned_through) == (True, 7, 5)


@pytest.mark.parametrize(
    ("tamper", "bad_id", "problem"),
    [
        (
            "UPDATE infra_audit_log SET resource_id = 'x' WHERE id = 6",
            6,
            "row 6: hash does not match its contents (edited?)",
        ),
        (
            "DELETE FROM infra_audit_log WHERE id = 6",
            7,
            "row 7: previous-hash link broken after the pruning checkpoint (row 5) "
            "(row 6 deleted?)",
        ),
        (
            "DELETE FROM infra_audit_log WHERE id = 9",
            10,
            "row 10: previous-hash link broken after row 8 (row 9 deleted?)",
        ),
        (
            # The checkpoint is signed: rewriting it breaks its signature.
            "UPDATE infra_audit_checkpoint SET through_hash = '" + "f" * 64 + "'",
            None,
            "pruning checkpoint 1 (through row 5) is unsigned or its signature does not "
            "match (forged to hide deleted rows?)",
        ),
    ],
)
async def test_editing_or_deleting_after_pruning_is_still_named(
    db: Database, tamper: str, bad_id: int | None, problem: str
) -> None:
    await _seed(db)
    await retention.apply(db, POLICY, NOW)
    await _sql(db, tamper)
    async with db.read() as conn:
        result = await verify(conn)
    assert (result.ok, result.first_bad_id, result.problem) == (False, bad_id, problem)


async def test_a_pruned_row_put_back_is_named(db: Database) -> None:
    await _seed(db)
    async with db.read() as conn:
        pruned = (await conn.execute(select(audit_log).where(audit_log.c.id == 3))).one()
    await retention.apply(db, POLICY, NOW)
    async with db.write() as conn:
        await conn.execute(insert(audit_log).values(**pruned._asdict()))
        result = await verify(conn)
    assert result.first_bad_id == 3
    assert result.problem == (
        "row 3: lies within the pruned range (through row 5); restored or inserted after pruning?"
    )


async def test_pruning_refuses_a_chain_that_does_not_verify(db: Database) -> None:
    await _seed(db)
    await _sql(db, "UPDATE infra_audit_log SET actor_id = 'someone' WHERE id = 2")
    before = await _snapshot(db)
    async with db.write() as conn:
        with pytest.raises(audit_retention.AuditChainBroken, match="row 2: hash does not match"):
            await audit_retention.prune(conn, POLICY, NOW)
    assert await _snapshot(db) == before
    done = await retention.apply(db, POLICY, NOW)  # the other classes still go
    assert done.audit_refused is not None
    assert (done.audit.rows, list(done.patients)) == (0, DUE_PATIENTS)
    async with db.read() as conn:
        assert await _rows(conn, audit_checkpoints) == []


async def test_a_change_after_the_dry_run_is_judged_as_it_is_now(db: Database) -> None:
    await _seed(db)
    plan = await retention.plan(db, POLICY, NOW)
    assert "p-old" in plan.patients
    async with db.write() as conn:
        await _visit(conn, "p-old", "held", NOW + timedelta(days=3))
        await conn.execute(
            patients.update().where(patients.c.id == "p-never").values(legal_hold=True)
        )
        await conn.execute(
            appointments.update()
            .where(appointments.c.id == "a-held-old")
            .values(status="confirmed")
        )
    done = await retention.apply(db, POLICY, NOW)
    assert list(done.patients) == ["p-noshow"]
    assert list(done.patients_spared) == ["p-hold", "p-never"]
    assert list(done.expired_holds) == ["a-expired-old"]


async def test_patients_go_in_batches_and_a_second_run_finds_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(db)
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
        assert len(await _rows(conn, audit_checkpoints)) == 1  # no second, empty prune
        assert (await verify(conn)).ok


async def test_pruning_while_others_append_keeps_one_chain(db: Database) -> None:
    await _seed(db)

    async def add(n: int) -> None:
        async with db.write() as conn:
            await append(conn, AuditEntry("user", "u2", "nurse", "read", "patient", f"c{n}"), NOW)

    async def prune() -> None:
        async with db.write() as conn:
            await audit_retention.prune(conn, POLICY, NOW)

    await asyncio.gather(*(add(n) for n in range(10)), prune(), *(add(n) for n in range(10, 20)))
    async with db.read() as conn:
        result = await verify(conn)
        ids = [r[0] for r in await _rows(conn, audit_log)]
    assert (result.ok, result.pruned_through) == (True, 5)
    assert ids == list(range(6, 6 + 3 + 20 + 1))


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
    asyncio.run(upgrade(url))
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
        await _seed(database)
    finally:
        await database.dispose()


async def test_each_deidentified_patient_is_announced_to_the_other_contexts(
    db: Database,
) -> None:
    await _seed(db)
    done = await retention.apply(db, POLICY, NOW)
    async with db.read() as conn:
        query = select(outbox.c.aggregate_id, outbox.c.payload).where(
            outbox.c.type == "patient.deidentified"
        )
        announced = sorted((r.aggregate_id, r.payload) for r in await conn.execute(query))
    assert announced == [(pid, {"patient_id": pid}) for pid in sorted(done.patients)]
