"""Who may read which patients' messages, and who may register a browser for push; and the
audit entries the context writes with its own transactions (`uow.audit`).

Staff who answer patients (admin, front desk) read any patient's messages; a signed-in
patient reads their own; nobody else any. Only a signed-in patient registers (or removes) a
browser, and only for themselves. Refusals are recorded by the audit trail itself.
"""

from __future__ import annotations

from clinicflow.infra.audit import AuditEntry
from clinicflow.infra.audit_trail import Access, audit_entry
from clinicflow.notifications.ports import Trail
from clinicflow.shared.actor import Actor, Role

STAFF = frozenset({Role.ADMIN, Role.FRONT_DESK})
READ = "read_notifications"


def entry(actor: Actor, action: str, access: Access) -> AuditEntry:
    """One allowed access, for `uow.audit` (the audit trail writes the same fields)."""
    return audit_entry(actor, action, access)


def signed_in_patient(actor: Actor) -> str | None:
    """The patient signed in, if the actor is one."""
    if actor.kind == "patient" and actor.role is Role.PATIENT and actor.patient_id:
        return actor.patient_id
    return None


async def reading_scope(trail: Trail, actor: Actor, patient_id: str | None) -> str | None:
    """Whose messages `actor` may list when asking for `patient_id` (None: everyone's);
    refuses (and records the refusal) otherwise."""
    own = signed_in_patient(actor)
    if own is not None:
        if patient_id not in (None, own):
            await trail.require_role(
                actor,
                False,
                READ,
                Access("patient", patient_id or "*", patient_id),
                "a patient may list only their own notifications",
            )
        return own
    allowed = actor.kind == "user" and actor.role in STAFF
    target = patient_id if patient_id and len(patient_id) <= 36 else None
    await trail.require_role(
        actor,
        allowed,
        READ,
        Access("patient", patient_id or "*", target),
        "only admin and front desk staff may list notifications",
    )
    return patient_id


async def push_owner(trail: Trail, actor: Actor, action: str) -> str:
    """The patient managing their own browser; anyone else is refused (and recorded)."""
    own = signed_in_patient(actor)
    if own is not None:
        return own
    await trail.require_role(
        actor,
        False,
        action,
        Access("push_subscription", "*"),
        "only a signed-in patient may manage push notifications, for their own browser",
    )
    raise AssertionError("require_role refuses")  # pragma: no cover
