"""Access checks for the payments use cases (rules in domain/access.py) and the audit rows
they leave: every read or change of an order names the order and its patient. A change's
row goes into the unit of work that makes it; a read's, or a refusal's, is written alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from clinicflow.infra.audit_trail import (
    Access,
    AuditTrail,
    OutOfScope,
    audit_entry,
    role_target,
)
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.payments.domain.access import Need, in_scope, role_may
from clinicflow.payments.errors import PaymentNotFound
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock

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


class Owned(Protocol):
    """An order, as stored or as answered: its id and its patient."""

    @property
    def id(self) -> str: ...

    @property
    def patient_id(self) -> str: ...


def access(order: Owned) -> Access:
    return Access(RESOURCE, order.id, order.patient_id)


class PaymentGuard:
    def __init__(self, *, trail: AuditTrail, clock: Clock) -> None:
        self.trail = trail
        self._clock = clock

    async def require(self, actor: Actor, need: Need, order_id: str | None = None) -> None:
        detail = f"your role may not {_WORDS[need]}"
        target = role_target(RESOURCE, order_id)
        await self.trail.require_role(actor, role_may(actor, need), need.value, target, detail)

    @staticmethod
    def check(actor: Actor, need: Need, order: Owned) -> None:
        if not in_scope(actor, need, order.patient_id):
            raise OutOfScope(access(order), PaymentNotFound(f"no payment {order.id!r}"))

    async def denying(self, actor: Actor, need: Need, run: Callable[[], Awaitable[T]]) -> T:
        return await self.trail.denying(actor, need.value, run)

    def record(self, uow: Transaction, actor: Actor, action: str, order: Owned) -> None:
        """A change of `order`, audited with the unit of work that makes it."""
        uow.audit(audit_entry(actor, action, access(order)), self._clock.now())

    async def record_read(self, actor: Actor, order: Owned, action: str = "read") -> None:
        await self.trail.record_alone(actor, action, [access(order)])
