"""Who may read the metrics (analysts and admins: domain/metrics.py `may_read`), and the
audit row a refusal leaves. An answer names no patient, so an allowed read is not audited."""

from __future__ import annotations

from clinicflow.analytics.domain.metrics import may_read
from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.shared.actor import Actor


class AnalyticsGuard:
    def __init__(self, trail: AuditTrail) -> None:
        self._trail = trail

    async def require(self, actor: Actor, metric: str) -> None:
        allowed = actor.kind == "system" or (actor.kind == "user" and may_read(actor.role.value))
        await self._trail.require_role(
            actor,
            allowed,
            "read_metrics",
            Access("analytics", metric[:64] or "*"),
            "only analysts and admins read the clinic's metrics",
        )
