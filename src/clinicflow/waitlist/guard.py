"""Who may see or do what with the waitlist (rules in domain/access.py), the audit rows each
use case leaves, and the sealing of the person's details.

An entry is not a patient record, so its audit rows name the entry; `patient_id` is filled
once the entry is linked to a patient. Changes are audited in the use case's own unit of
work (`audit`), so the row and the change commit together; reads and refusals in a
transaction of their own (`AuditLog.record_alone`).

PHI is sealed per column and bound to its entry's row (`WaitlistCipher`); the blind indexes
are keyed per column of this table, so a waitlist email index never equals the patients'
index of the same email, and one table's indexes say nothing about the other's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from clinicflow.infra.audit_trail import Access, audit_accesses, role_target
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.shared.actor import Actor
from clinicflow.waitlist.domain.access import Need, role_may
from clinicflow.waitlist.domain.entry import Entry
from clinicflow.waitlist.ports import AuditLog
from clinicflow.waitlist.tables import seal_context

RESOURCE = "waitlist_entry"
_WORDS = {
    Need.JOIN: "add people to the waitlist",
    Need.LIST: "list waitlist entries",
    Need.CHANGE: "change or withdraw waitlist entries",
    Need.STATS: "see waitlist statistics",
    Need.LAUNCH: "launch services",
    Need.CONVERT: "turn waitlist entries into bookings",
    Need.OWN: "see a patient's own waitlist entries",
}


def access(entry: Entry) -> Access:
    return Access(RESOURCE, entry.id, entry.patient_id)


class WaitlistGuard:
    def __init__(self, trail: AuditLog) -> None:
        self.trail = trail

    async def require(self, actor: Actor, need: Need, entry_id: str | None = None) -> None:
        detail = f"your role may not {_WORDS[need]}"
        target = role_target(RESOURCE, entry_id)
        await self.trail.require_role(actor, role_may(actor, need), need.value, target, detail)

    @staticmethod
    def audit(
        uow: Transaction,
        actor: Actor,
        action: str,
        accesses: Iterable[Access],
        now: datetime,
        *,
        reason: str | None = None,
    ) -> None:
        """One allowed `action` per resource, committed with `uow`'s change."""
        audit_accesses(uow, actor, action, accesses, now, reason=reason)

    async def record_alone(self, actor: Actor, action: str, accesses: Iterable[Access]) -> None:
        """A read (or a message sent), recorded in a transaction of its own."""
        await self.trail.record_alone(actor, action, accesses)


class WaitlistCipher:
    """Seals a column's value bound to its entry; blind indexes for finding a repeat join."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    def seal(self, value: str | None, column: str, entry_id: str) -> str | None:
        if not value:
            return None
        return self._keys.encrypt(value, context=seal_context(column), row=entry_id)

    def open(self, token: str | None, column: str, entry_id: str) -> str | None:
        if token is None:
            return None
        return self._keys.decrypt(token, context=seal_context(column), row=entry_id)

    def index(self, value: str | None, column: str) -> str | None:
        if not value:
            return None
        return self._keys.blind_index(value, context=seal_context(column))
