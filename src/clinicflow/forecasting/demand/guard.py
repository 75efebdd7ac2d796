"""Who may see the planning models' answers: forecasts are aggregates (analysts and
admins, the owner signs in as an admin); schedule proposals and wave sizes are the
owner's decisions (admins only). A refusal leaves a denied audit row; an answer names no
person, so an allowed read is not audited."""

from __future__ import annotations

from clinicflow.forecasting.guard import system_or_role
from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.shared.actor import Actor, Role

READERS = frozenset({Role.ADMIN, Role.ANALYST})
ADMINS = frozenset({Role.ADMIN})


class PlanningGuard:
    def __init__(self, trail: AuditTrail) -> None:
        self._trail = trail

    async def forecasts(self, actor: Actor) -> None:
        await self._trail.require_role(
            actor,
            system_or_role(actor, READERS),
            "read_forecasts",
            Access("forecasting", "demand"),
            "only analysts and admins read the demand forecast",
        )

    async def proposals(self, actor: Actor, what: str) -> None:
        await self._trail.require_role(
            actor,
            system_or_role(actor, ADMINS),
            "read_proposals",
            Access("forecasting", what),
            "only admins see schedule proposals and wave sizes",
        )
