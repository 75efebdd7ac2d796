"""The audit log's entries as a caller records them (`AuditEntry`) and its rows as they are
read back (`AuditRecord`); `infra.audit` appends, seals and searches them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.infra.audit_tables import ACTOR_TYPES, OUTCOMES, ActorType, Outcome


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a caller records: ids only. `reason` is required for break-glass access."""

    actor_type: ActorType
    actor_id: str
    role: str
    action: str
    resource_type: str
    resource_id: str
    outcome: Outcome = "allowed"
    patient_id: str | None = None
    source_ip: str | None = None
    request_id: str | None = None
    reason: str | None = None
    break_glass: bool = False

    def __post_init__(self) -> None:
        if self.actor_type not in ACTOR_TYPES:
            raise ValueError(f"actor_type must be one of {ACTOR_TYPES}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        if self.break_glass and not (self.reason and self.reason.strip()):
            raise ValueError("break-glass access needs a reason")


@dataclass(frozen=True, slots=True)
class AuditRow:
    """A sealed row as administrators read it (GET /v1/audit): everything but its link to
    the row before it."""

    id: int
    at: datetime
    actor_type: str
    actor_id: str
    role: str
    action: str
    resource_type: str
    resource_id: str
    patient_id: str | None
    source_ip: str | None
    request_id: str | None
    outcome: str
    reason: str | None
    break_glass: bool
    hash: str


@dataclass(frozen=True, slots=True)
class AuditRecord(AuditRow):
    """A sealed row as stored: the table's columns one for one."""

    prev_hash: str
