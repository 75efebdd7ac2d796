"""Who may see or do what with a patient's record (rules in domain/access.py), and the audit
trail of it.

Writes record their audit rows in the unit of work that makes the change, so the rows and
the change commit together. Reads and refusals are recorded in a unit of work of their own:
a read has no write to join, and a refused request rolls its own back but must still leave
its row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from clinicflow.infra.audit import Outcome
from clinicflow.infra.audit_trail import Access, AuditTrail, OutOfScope, audit_accesses
from clinicflow.infra.unit_of_work import Transaction, UnitsOfWork
from clinicflow.patients.domain.access import Need, in_scope, role_may, sees_all
from clinicflow.patients.domain.patient import Patient
from clinicflow.patients.errors import PatientNotFound
from clinicflow.patients.ports import PatientsUnitOfWork
from clinicflow.shared.actor import Actor, Decision, Role, decide
from clinicflow.shared.clock import Clock

T = TypeVar("T")
READS = (Need.READ, Need.RECORD)


def access(patient_id: str) -> Access:
    return Access("patient", patient_id, patient_id)


def not_found(patient_id: str) -> PatientNotFound:
    return PatientNotFound(f"no patient {patient_id!r}")


class PatientGuard:
    def __init__(self, *, uow: UnitsOfWork[Transaction], clock: Clock) -> None:
        # Reads and refusals: recorded in units of work of their own (`record_alone`), and
        # `denying` turns an out-of-scope record into its denied row and 404.
        self.trail = AuditTrail(uow, clock)
        self._clock = clock

    async def require_role(self, actor: Actor, need: Need, patient_id: str | None) -> None:
        """Refuse a role that may never do this (403; 401 when anonymous), leaving a denied
        row for signed-in callers (`AuditTrail.require_role`)."""
        target = patient_id if patient_id and len(patient_id) <= 36 else None
        await self.trail.require_role(
            actor,
            role_may(actor, need),
            need.value,
            Access("patient", patient_id or "*", target),
            f"your role may not {need.value.replace('_', ' ')} patient records",
        )

    async def check(
        self,
        uow: PatientsUnitOfWork,
        actor: Actor,
        need: Need,
        patient: Patient | None,
        patient_id: str,
    ) -> tuple[Patient, Decision]:
        """The record and how access was granted. Raises OutOfScope (→ 404 and a denied
        audit row, by `trail.denying`) otherwise; a missing record is treated like an out-of-scope
        one, so both answer alike."""
        if patient is None:
            raise OutOfScope(access(patient_id), not_found(patient_id))
        seen = actor.role is Role.PRACTITIONER and not sees_all(actor, need)
        practitioner_patients = seen and await uow.visits.seen_by(actor.practitioner, patient.id)
        scoped = in_scope(actor, need, patient.id, practitioner_patients)
        decision = decide(actor, in_scope=scoped) if need in READS else Decision(scoped)
        if not decision.allowed:
            raise OutOfScope(access(patient.id), not_found(patient.id))
        return patient, decision

    def record(
        self,
        uow: Transaction,
        actor: Actor,
        action: str,
        accesses: Iterable[Access],
        *,
        outcome: Outcome = "allowed",
        break_glass: bool = False,
        reason: str | None = None,
    ) -> None:
        """Audit rows in `uow`, committed with it. `reason`: why, when the action itself
        needs one (a legal hold); for break-glass the caller's stated reason is taken."""
        audit_accesses(
            uow,
            actor,
            action,
            accesses,
            self._clock.now(),
            outcome=outcome,
            break_glass=break_glass,
            reason=reason,
        )
