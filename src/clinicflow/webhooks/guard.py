"""Who may manage webhooks (administrators only), and the audit entries of what they do.
Every change is an audit entry in the transaction that makes it; every refusal of a
signed-in caller is recorded by the audit trail itself."""

from __future__ import annotations

from clinicflow.infra.audit import AuditEntry
from clinicflow.infra.audit_trail import Access, audit_entry
from clinicflow.shared.actor import Actor, Role
from clinicflow.webhooks.ports import Trail

SUBSCRIPTION = "webhook_subscription"
DELIVERY = "webhook_delivery"


async def require_admin(
    trail: Trail, actor: Actor, action: str, resource: str, resource_id: str = "*"
) -> None:
    allowed = actor.kind == "user" and actor.role is Role.ADMIN
    await trail.require_role(
        actor,
        allowed,
        action,
        Access(resource, resource_id),
        "only an administrator may manage webhooks",
    )


def changed(actor: Actor, action: str, subscription_id: str) -> AuditEntry:
    """A change to a subscription, for `uow.audit` (the audit trail writes the same fields)."""
    return audit_entry(actor, action, Access(SUBSCRIPTION, subscription_id))
