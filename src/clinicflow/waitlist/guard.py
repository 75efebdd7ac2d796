"""Access checks for the waitlist use cases (rules in domain/access.py) and the audit rows
they leave. An entry is not a patient record, so its rows name the entry; `patient_id` is
filled once the entry is linked to a patient."""

from __future__ import annotations

from typing import Any

from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.shared.actor import Actor
from clinicflow.waitlist.domain.access import Need, role_may

RESOURCE = "waitlist_entry"
_WORDS = {
    Need.JOIN: "add people to the waitlist",
    Need.LIST: "list waitlist entries",
    Need.CHANGE: "change or withdraw waitlist entries",
    Need.STATS: "see waitlist statistics",
    Need.LAUNCH: "launch services",
    Need.CONVERT: "turn waitlist entries into bookings",
}


def access(row: Any) -> Access:
    return Access(RESOURCE, row.id, row.patient_id)


class WaitlistGuard:
    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    async def require(self, actor: Actor, need: Need, entry_id: str | None = None) -> None:
        target = entry_id if entry_id and len(entry_id) <= 64 else "*"
        await self.trail.require_role(
            actor,
            role_may(actor, need),
            need.value,
            Access(RESOURCE, target),
            f"your role may not {_WORDS[need]}",
        )
