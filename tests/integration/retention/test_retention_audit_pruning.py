"""Retention on a real, migrated database (SQLite and PostgreSQL; the seeded clinic:
support/retention_clinic.py, the db fixture: this folder's conftest.py): the audit log pruned
behind a checkpoint it verifies from: edits, deletions and a pruned row put back are still
named, a chain that does not verify is not pruned, and pruning while others append keeps one
chain.

The clinic used throughout (NOW = 2026-11-24 15:00 UTC, default policy): patient cutoff
2019-11-24 15:00, audit cutoff 2020-11-24 15:00, holds cutoff 2026-10-25 15:00.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select

from clinicflow import retention
from clinicflow.infra import audit_retention
from clinicflow.infra.audit import AuditEntry, audit_checkpoints, audit_log, verify
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import UnitOfWork
from support.retention_clinic import (
    DUE_PATIENTS,
    NOW,
    POLICY,
    run_sql,
    seed_clinic,
    snapshot,
    table_rows,
)

# Retention and the audit chain are SQL that each dialect must answer alike.
pytestmark = pytest.mark.both_databases


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
    await seed_clinic(db)
    await retention.apply(db, POLICY, NOW)
    await run_sql(db, tamper)
    async with db.read() as conn:
        result = await verify(conn)
    assert (result.ok, result.first_bad_id, result.problem) == (False, bad_id, problem)


async def test_a_pruned_row_put_back_is_named(db: Database) -> None:
    await seed_clinic(db)
    async with db.read() as conn:
        pruned = (await conn.execute(select(audit_log).where(audit_log.c.id == 3))).one()
    await retention.apply(db, POLICY, NOW)
    async with UnitOfWork(db) as uow:
        await uow.connection.execute(insert(audit_log).values(**pruned._asdict()))
        result = await verify(uow.connection)
        await uow.commit()
    assert result.first_bad_id == 3
    assert result.problem == (
        "row 3: lies within the pruned range (through row 5); restored or inserted after pruning?"
    )


async def test_pruning_refuses_a_chain_that_does_not_verify(db: Database) -> None:
    await seed_clinic(db)
    await run_sql(db, "UPDATE infra_audit_log SET actor_id = 'someone' WHERE id = 2")
    before = await snapshot(db)
    async with UnitOfWork(db) as uow:
        with pytest.raises(audit_retention.AuditChainBroken, match="row 2: hash does not match"):
            await audit_retention.prune(uow, POLICY, NOW)
    assert await snapshot(db) == before
    done = await retention.apply(db, POLICY, NOW)  # the other classes still go
    assert done.audit_refused is not None
    assert (done.audit.rows, list(done.patients)) == (0, DUE_PATIENTS)
    async with db.read() as conn:
        assert await table_rows(conn, audit_checkpoints) == []


async def test_pruning_while_others_append_keeps_one_chain(db: Database) -> None:
    await seed_clinic(db)

    async def add(n: int) -> None:
        async with UnitOfWork(db) as uow:
            uow.audit(AuditEntry("user", "u2", "nurse", "read", "patient", f"c{n}"), NOW)
            await uow.commit()

    async def prune() -> None:
        async with UnitOfWork(db) as uow:
            await audit_retention.prune(uow, POLICY, NOW)
            await uow.commit()

    await asyncio.gather(*(add(n) for n in range(10)), prune(), *(add(n) for n in range(10, 20)))
    async with db.read() as conn:
        result = await verify(conn)
        ids = [r[0] for r in await table_rows(conn, audit_log)]
    assert (result.ok, result.pruned_through) == (True, 5)
    assert ids == list(range(6, 6 + 3 + 20 + 1))
