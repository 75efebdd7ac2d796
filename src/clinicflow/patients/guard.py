"""Access checks for the patient use cases (rules in domain/access.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.audit_trail import Access, AuditTrail, OutOfScope
from clinicflow.patients import repository as repo
from clinicflow.patients.domain.access import Need, in_scope, role_may, sees_all
from clinicflow.patients.errors import PatientNotFound
from clinicflow.shared.actor import Actor, Decision, Role, decide

READS = (Need.READ, Need.RECORD)


def access(patient_id: str) -> Access:
    return Access("patient", patient_id, patient_id)


def not_found(patient_id: str) -> PatientNotFound:
    return PatientNotFound(f"no patient {patient_id!r}")


class PatientGuard:
    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    async def require_role(self, actor: Actor, need: Need, patient_id: str | None) -> None:
        words = need.value.replace("_", " ")
        target = patient_id if patient_id and len(patient_id) <= 36 else None
        await self.trail.require_role(
            actor,
            role_may(actor, need),
            need.value,
            Access("patient", patient_id or "*", target),
            f"your role may not {words} patient records",
        )

    async def check(
        self, conn: AsyncConnection, actor: Actor, need: Need, row: Any | None, patient_id: str
    ) -> tuple[Any, Decision]:
        """The row and how access was granted. Raises OutOfScope (→ 404 and a denied audit
        row) otherwise; a missing row is treated like an out-of-scope one, so both answer
        alike."""
        if row is None:
            raise OutOfScope(access(patient_id), not_found(patient_id))
        seen = actor.role is Role.PRACTITIONER and not sees_all(actor, need)
        practitioner_patients = seen and await repo.seen_by(conn, actor.practitioner, row.id)
        scoped = in_scope(actor, need, row.id, practitioner_patients)
        decision = decide(actor, in_scope=scoped) if need in READS else Decision(scoped)
        if not decision.allowed:
            raise OutOfScope(access(row.id), not_found(row.id))
        return row, decision
