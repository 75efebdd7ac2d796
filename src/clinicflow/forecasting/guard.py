"""Who may see the models' outputs: the risk lists name bookings and patients, so staff who
care for them (admins, front desk, practitioners); analysts and admins see aggregates only.
A refusal leaves its audit row; a churn list read is recorded per patient it names."""

from __future__ import annotations

from collections.abc import Iterable

from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.shared.actor import Actor, Role

RISK_ROLES = frozenset({Role.ADMIN, Role.FRONT_DESK, Role.PRACTITIONER})
AGGREGATE_ROLES = frozenset({Role.ADMIN, Role.ANALYST, Role.FRONT_DESK, Role.PRACTITIONER})


def may_read_risks(actor: Actor) -> bool:
    """Whether the actor's role reads risks (a page decides what to show, asking nothing)."""
    return actor.kind == "user" and actor.role in RISK_ROLES


def system_or_role(actor: Actor, roles: frozenset[Role]) -> bool:
    """A system actor (a job, the CLI) or a signed-in user with one of `roles`."""
    return actor.kind == "system" or (actor.kind == "user" and actor.role in roles)


class ForecastingGuard:
    def __init__(self, trail: AuditTrail) -> None:
        self._trail = trail

    async def require_staff(self, actor: Actor, kind: str) -> None:
        allowed = may_read_risks(actor)
        access = Access("forecast", kind)
        await self._trail.require_role(
            actor,
            allowed,
            f"read_{kind}_risk",
            access,
            "only the clinic's staff who care for patients read risks (analysts: aggregates)",
        )

    async def record_reads(self, actor: Actor, kind: str, patient_ids: Iterable[str]) -> None:
        """A list that names patients is a read of each: one audit row per patient it named
        (a patient listed for two services, one row), written together in one transaction."""
        named = dict.fromkeys(patient_ids)
        await self._trail.record_alone(
            actor, f"read_{kind}_risk", [Access("patient", pid, pid) for pid in named]
        )

    async def require_aggregates(self, actor: Actor) -> None:
        await self._trail.require_role(
            actor,
            system_or_role(actor, AGGREGATE_ROLES),
            "read_risk_summary",
            Access("forecast", "summary"),
            "only staff read the risk aggregates",
        )
