"""Recording who touched which patient's data, from the use cases.

Writes go in the unit of work that makes the change (`uow.audit`), so the row and the change
commit together. Reads and refusals are recorded in a unit of work of their own: a read has no
transaction to join, and a refused request rolls its own back but must still leave its row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from clinicflow.infra.audit import AuditEntry, Outcome
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import Factory, Transaction, UnitOfWork, UnitsOfWork
from clinicflow.shared.actor import Actor, require
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Access:
    """One resource touched: its type, id and the patient it belongs to (if any)."""

    resource_type: str
    resource_id: str
    patient_id: str | None = None


def role_target(resource_type: str, resource_id: str | None) -> Access:
    """What a role refusal names: the resource's id, or `*` when none is given or the one
    given is too long to be an id (it is not copied into the log)."""
    return Access(resource_type, resource_id if resource_id and len(resource_id) <= 64 else "*")


class OutOfScope(Exception):
    """Raised where a resource turns out to be outside the caller's scope (often inside a
    transaction, which it rolls back); `AuditTrail.denying` records it and answers 404."""

    def __init__(self, access: Access, not_found: DomainError) -> None:
        super().__init__(access.resource_id)
        self.access = access
        self.not_found = not_found


def audit_entry(
    actor: Actor,
    action: str,
    access: Access,
    *,
    outcome: Outcome = "allowed",
    break_glass: bool = False,
    reason: str | None = None,
) -> AuditEntry:
    """The entry recording that `actor` did `action` to `access`: every context's audit rows
    are built here, so they all say the same things the same way (ids cut to their columns)."""
    return AuditEntry(
        actor_type=actor.kind,
        actor_id=actor.id[:64],
        role=actor.role.value,
        action=action,
        resource_type=access.resource_type,
        resource_id=access.resource_id[:64],
        outcome=outcome,
        # The id a caller asked for, when the refusal names it: any text of a URL's path
        # (PostgreSQL refused a 46-character one for this column with a 500).
        patient_id=access.patient_id[:36] if access.patient_id else None,
        source_ip=actor.source_ip,
        request_id=actor.request_id,
        reason=reason,
        break_glass=break_glass,
    )


def audit_accesses(
    uow: Transaction,
    actor: Actor,
    action: str,
    accesses: Iterable[Access],
    now: datetime,
    *,
    outcome: Outcome = "allowed",
    break_glass: bool = False,
    reason: str | None = None,
) -> None:
    """One entry per access, committed with `uow`. `reason`: why, when the action itself
    needs one (a legal hold); for break-glass the caller's stated reason is taken."""
    if break_glass:
        reason = actor.break_glass_reason
    for access in accesses:
        uow.audit(
            audit_entry(
                actor, action, access, outcome=outcome, break_glass=break_glass, reason=reason
            ),
            now,
        )


class AuditTrail:
    def __init__(self, db: Database | UnitsOfWork[Transaction], clock: Clock) -> None:
        """`db`: the database, or the units of work (a context's, a fake's) that reads and
        refusals are recorded in."""
        self._units: UnitsOfWork[Transaction] = (
            Factory(db, UnitOfWork) if isinstance(db, Database) else db
        )
        self._clock = clock

    async def record_alone(
        self,
        actor: Actor,
        action: str,
        accesses: Iterable[Access],
        *,
        outcome: Outcome = "allowed",
        break_glass: bool = False,
    ) -> None:
        accesses = list(accesses)
        if not accesses:
            return
        async with self._units() as uow:
            now = self._clock.now()
            audit_accesses(
                uow, actor, action, accesses, now, outcome=outcome, break_glass=break_glass
            )
            await uow.commit()

    async def denying(self, actor: Actor, action: str, run: Callable[[], Awaitable[T]]) -> T:
        """Run a use case; an out-of-scope resource is recorded as denied and answers as
        if it did not exist (its 404), so the answer reveals nothing about it."""
        try:
            return await run()
        except OutOfScope as exc:
            await self.record_alone(actor, action, [exc.access], outcome="denied")
            raise exc.not_found from None

    async def require_role(
        self, actor: Actor, allowed: bool, action: str, access: Access, detail: str
    ) -> None:
        """Refuse a role that may never do this (403; 401 when anonymous), leaving a denied
        row for signed-in callers. Anonymous refusals are not recorded: anyone can send
        them, and they reach no data."""
        if allowed:
            return
        if actor.kind != "anonymous":
            await self.record_alone(actor, action, [access], outcome="denied")
        require(actor, False, detail)
