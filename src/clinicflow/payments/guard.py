"""Access checks for the payments use cases (rules in domain/access.py) and the audit rows
they leave: every read or change of an order names the order and its patient."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.audit_trail import Access, AuditTrail, OutOfScope
from clinicflow.payments.domain.access import Need, in_scope, role_may
from clinicflow.payments.errors import PaymentNotFound
from clinicflow.shared.actor import Actor

T = TypeVar("T")
RESOURCE = "payment"
_WORDS = {
    Need.QUOTE: "get quotes",
    Need.PAY: "pay for visits",
    Need.IN_CLINIC: "record payments taken in the clinic",
    Need.READ: "read payments",
    Need.MANAGE: "sync payments with the gateway",
    Need.REFUND: "refund payments",
    Need.CODES: "enter billing codes",
    Need.REVENUE: "see revenue",
}


def access(row: Any) -> Access:
    return Access(RESOURCE, row.id, row.patient_id)


class PaymentGuard:
    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    async def require(self, actor: Actor, need: Need, order_id: str | None = None) -> None:
        target = order_id if order_id and len(order_id) <= 64 else "*"
        await self.trail.require_role(
            actor,
            role_may(actor, need),
            need.value,
            Access(RESOURCE, target),
            f"your role may not {_WORDS[need]}",
        )

    @staticmethod
    def check(actor: Actor, need: Need, row: Any) -> None:
        if not in_scope(actor, need, row.patient_id):
            raise OutOfScope(access(row), PaymentNotFound(f"no payment {row.id!r}"))

    async def denying(self, actor: Actor, need: Need, run: Callable[[], Awaitable[T]]) -> T:
        return await self.trail.denying(actor, need.value, run)

    async def record(self, conn: AsyncConnection, actor: Actor, action: str, row: Any) -> None:
        await self.trail.record(conn, actor, action, [access(row)])

    async def record_read(self, actor: Actor, row: Any, action: str = "read") -> None:
        await self.trail.record_alone(actor, action, [access(row)])
