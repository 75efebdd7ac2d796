"""Access checks for the booking use cases, and the audit rows they leave."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TypeVar

from clinicflow.booking.domain.access import Need, in_scope, role_may
from clinicflow.booking.domain.appointment import Appointment
from clinicflow.booking.errors import BookingNotFound
from clinicflow.infra.audit_trail import Access, AuditTrail, OutOfScope, audit_entry
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.shared.actor import Actor, Decision, decide

T = TypeVar("T")


def access(appointment: Appointment) -> Access:
    return Access("booking", appointment.id, appointment.patient_id)


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
    def check(actor: Actor, need: Need, appointment: Appointment) -> Decision:
        """Whether `appointment` is in scope; break-glass applies to reads only."""
        scoped = in_scope(actor, need, appointment.practitioner, appointment.patient_id)
        decision = decide(actor, in_scope=scoped) if need is Need.READ else Decision(scoped)
        if not decision.allowed:
            raise OutOfScope(access(appointment), BookingNotFound(f"no booking {appointment.id!r}"))
        return decision

    async def denying(self, actor: Actor, need: Need, run: Callable[[], Awaitable[T]]) -> T:
        return await self.trail.denying(actor, need.value, run)

    async def record_reads(
        self, actor: Actor, found: Iterable[Appointment], decision: Decision | None = None
    ) -> None:
        touched = [access(a) for a in found if a.patient_id is not None]
        glass = decision is not None and decision.break_glass
        await self.trail.record_alone(actor, "read", touched, break_glass=glass)

    @staticmethod
    def record(
        uow: Transaction, actor: Actor, action: str, appointment: Appointment, now: datetime
    ) -> None:
        """A change to `appointment`, audited with the transaction that makes it."""
        uow.audit(audit_entry(actor, action, access(appointment)), now)
