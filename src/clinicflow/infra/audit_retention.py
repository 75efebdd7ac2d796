"""Audit log retention: prune the oldest rows and leave a checkpoint the chain verifies from.

Only a prefix of the chain (in id order) can go: a hole in the middle would read as a
deletion. So the rows pruned are those before the first row that is still within the
retention period; a slightly older row appended just after a newer one (appenders take the
time before the lock) waits for the next run rather than splitting the chain.

The prune runs in one write transaction holding the sealers' lock, so no entry can be sealed
between reading the last pruned hash and deleting: it records itself (sealed into the chain
right after its commit, linked to the checkpoint when nothing newer is left), deletes the
prefix, then writes the checkpoint (through id and hash) that `audit.verify` resumes from.

Before deleting, the rows about to go are verified: pruning a tampered prefix would bless it
with a checkpoint and destroy the evidence, so a broken chain is refused instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra._audit_chain import checkpoint_mac
from clinicflow.infra.audit import (
    ADVISORY_LOCK_KEY,
    AuditEntry,
    audit_checkpoints,
    audit_log,
    chain_key,
    verify,
)
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.shared.errors import Conflict

__all__ = ["AuditChainBroken", "AuditCutoff", "AuditPrune", "due", "prune"]


class AuditCutoff(Protocol):
    """What pruning needs from the retention policy (infra cannot import the catalog)."""

    def audit_cutoff(self, now: datetime) -> datetime: ...


class AuditChainBroken(Conflict, code="audit_chain_broken"): ...


@dataclass(frozen=True, slots=True)
class AuditPrune:
    cutoff: datetime  # rows before this instant are past retention
    rows: int = 0
    first_id: int | None = None
    through_id: int | None = None  # the last row that goes; None when nothing is due
    through_hash: str | None = None  # its hash, once pruned (for the external checkpoint)


async def due(conn: AsyncConnection, policy: AuditCutoff, now: datetime) -> AuditPrune:
    """The prefix of the chain older than the cutoff: how many rows, from which id to which."""
    cutoff = policy.audit_cutoff(now)
    c = audit_log.c
    first_kept = (await conn.execute(select(func.min(c.id)).where(c.at >= cutoff))).scalar()
    through: int | None
    if first_kept is None:  # every row is past retention
        through = (await conn.execute(select(func.max(c.id)))).scalar()
    else:
        through = int(first_kept) - 1
    if through is None:
        return AuditPrune(cutoff)
    rows, first = (
        await conn.execute(select(func.count(), func.min(c.id)).where(c.id <= through))
    ).one()
    if not rows:
        return AuditPrune(cutoff)
    return AuditPrune(cutoff, int(rows), int(first), int(through))


async def prune(uow: UnitOfWork, policy: AuditCutoff, now: datetime) -> AuditPrune:
    """Prune inside the caller's unit of work (the caller commits it); returns what was
    pruned (rows=0: nothing).

    Raises AuditChainBroken, changing nothing, when the rows due do not verify."""
    conn = uow.connection
    if conn.dialect.name == "postgresql":
        # The lock every seal takes: the chain's tail cannot move while we cut its head.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    plan = await due(conn, policy, now)
    if plan.through_id is None:
        return plan
    # One row past the cut too: its link is what proves the last pruned row was intact.
    checked = await verify(conn, upto=plan.through_id + 1)
    if not checked.ok:
        raise AuditChainBroken(
            f"the audit rows due for pruning do not verify ({checked.problem}); nothing was "
            "pruned. Investigate and restore the log from a backup before pruning it",
            first_bad_id=checked.first_bad_id,
        )
    c = audit_log.c
    through_hash = (await conn.execute(select(c.hash).where(c.id == plan.through_id))).scalar_one()
    entry = AuditEntry(
        actor_type="system",
        actor_id="retention",
        role="system",
        action="prune",
        resource_type="audit_log",
        resource_id=f"through:{plan.through_id}",
    )
    uow.audit(entry, now)
    await conn.execute(delete(audit_log).where(c.id <= plan.through_id))
    await conn.execute(
        insert(audit_checkpoints).values(
            through_id=plan.through_id,
            through_hash=through_hash,
            rows_pruned=plan.rows,
            cutoff=plan.cutoff,
            created_at=now,
            # Signed: an unsigned checkpoint could hide deleted oldest rows (`chain_start`).
            mac=checkpoint_mac(
                chain_key(conn), plan.through_id, through_hash, plan.rows, plan.cutoff
            ),
        )
    )
    return replace(plan, through_hash=through_hash)
