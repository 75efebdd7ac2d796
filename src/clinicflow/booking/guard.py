"""Access checks for the booking use cases, and the audit rows they leave."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from clinicflow.booking.domain.access import Need, in_scope, role_may
from clinicflow.booking.errors import BookingNotFound
from clinicflow.infra.audit_trail import Access, AuditTrail, OutOfScope
from clinicflow.shared.actor import Actor, Decision, decide

T = TypeVar("T")


def access(row: Any) -> Access:
    return Access("booking", row.id, row.patient_id)


class BookingGuard:
    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    async def require_role(self, actor: Actor, need: Need, booking_id: str) -> None:
        await self.trail.require_role(
            actor,
            role_may(actor, need),
            need.value,
            Access("booking", booking_id),
            f"your role may not {need.value} bookings",
        )

    @staticmethod
    def check(actor: Actor, need: Need, row: Any) -> Decision:
        """Whether `row` is in scope; break-glass applies to reads only."""
        scoped = in_scope(actor, need, row.practitioner, row.patient_id)
        decision = decide(actor, in_scope=scoped) if need is Need.READ else Decision(scoped)
        if not decision.allowed:
            raise OutOfScope(access(row), BookingNotFound(f"no booking {row.id!r}"))
        return decision

    async def denying(self, actor: Actor, need: Need, run: Callable[[], Awaitable[T]]) -> T:
        return await self.trail.denying(actor, need.value, run)

    async def record_reads(
        self, actor: Actor, rows: Iterable[Any], decision: Decision | None = None
    ) -> None:
        touched = [access(row) for row in rows if row.patient_id is not None]
        glass = decision is not None and decision.break_glass
        await self.trail.record_alone(actor, "read", touched, break_glass=glass)
