"""Who is asking: the authenticated caller every use case receives, and what scope means.

The gateway turns credentials into an `Actor`; contexts decide from it, in their handlers,
what the caller may see or change. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

from clinicflow.shared.errors import Forbidden, Unauthenticated

ActorKind = Literal["user", "client", "patient", "anonymous", "system"]


class Role(StrEnum):
    ADMIN = "admin"
    FRONT_DESK = "front_desk"
    PRACTITIONER = "practitioner"
    BILLING = "billing"
    ANALYST = "analyst"
    PATIENT = "patient"
    CLIENT = "client"  # an API client (API key or OAuth client credentials)
    ANONYMOUS = "anonymous"
    SYSTEM = "system"  # the platform itself: CLI jobs, projections, retention


STAFF_ROLES = frozenset(
    {Role.ADMIN, Role.FRONT_DESK, Role.PRACTITIONER, Role.BILLING, Role.ANALYST}
)
# Staff who may open a record outside their scope by stating a reason (break-glass). Analysts
# are excluded: their role is de-identified aggregates, never a single patient's record.
BREAK_GLASS_ROLES = frozenset({Role.FRONT_DESK, Role.PRACTITIONER, Role.BILLING})


class Scope(StrEnum):
    """What an API client may do; staff and patients are governed by their role instead."""

    BOOKINGS_READ = "bookings:read"
    BOOKINGS_WRITE = "bookings:write"
    PATIENTS_READ = "patients:read"
    PATIENTS_WRITE = "patients:write"
    AUDIT_READ = "audit:read"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset)
    patient_id: str | None = None  # a patient signed in by one-time link
    practitioner: str | None = None  # a practitioner user's calendar key
    tier: str = "anonymous"  # rate-limit tier
    source_ip: str | None = None
    request_id: str | None = None
    # Staff asking to open a record outside their scope give their reason with the request.
    break_glass_reason: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "user" and self.role in STAFF_ROLES

    def has_scope(self, scope: Scope) -> bool:
        return self.kind == "client" and scope.value in self.scopes

    def at(self, source_ip: str | None, request_id: str | None) -> Actor:
        return replace(self, source_ip=source_ip, request_id=request_id)


ANONYMOUS = Actor(kind="anonymous", id="anonymous", role=Role.ANONYMOUS)
SYSTEM = Actor(kind="system", id="clinicflow", role=Role.SYSTEM, tier="system")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    break_glass: bool = False


def decide(actor: Actor, *, in_scope: bool) -> Decision:
    """In scope → allowed. Out of scope → allowed only as recorded break-glass."""
    if in_scope:
        return Decision(True)
    reason = (actor.break_glass_reason or "").strip()
    if actor.kind == "user" and actor.role in BREAK_GLASS_ROLES and reason:
        return Decision(True, break_glass=True)
    return Decision(False)


def require(actor: Actor, allowed: bool, detail: str) -> None:
    """Refuse a caller whose role may never do this: 401 when anonymous, else 403."""
    if allowed:
        return
    if actor.kind == "anonymous":
        raise Unauthenticated(
            f"{detail}; sign in (staff session, patient sign-in link) or send an API key "
            "or OAuth token"
        )
    raise Forbidden(detail)
