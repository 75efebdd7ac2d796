"""Adapters between contexts that only the composition root may write: one context's port
implemented over another's use cases and tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import errors as booking_errors
from clinicflow.booking import queries as booking_queries
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain.lifecycle import Status, effective_status
from clinicflow.booking.handlers import BookingService
from clinicflow.booking.tables import appointments
from clinicflow.infra.db import Database
from clinicflow.payments.ports import Visit, VisitLost
from clinicflow.shared.actor import SYSTEM
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError


class BookingDeskAdapter:
    """Payments' BookingDesk port over booking's own use cases: a paid hold is confirmed by
    `BookingService.book` as the patient would, through the system actor acting for them."""

    def __init__(self, db: Database, clock: Clock, bookings: BookingService) -> None:
        self._db = db
        self._clock = clock
        self._bookings = bookings

    async def visit(self, conn: AsyncConnection, booking_id: str) -> Visit | None:
        row: Any = await booking_queries.get_row(conn, booking_id)
        if row is None:
            return None
        status = effective_status(row.status, row.hold_expires_at, self._clock.now())
        return Visit(
            row.id,
            status.value,
            row.service,
            row.visit_type,
            row.practitioner,
            row.start_at,
            row.duration_min,
            row.patient_id,
        )

    async def visited_before(
        self, conn: AsyncConnection, patient_id: str, besides: Sequence[str]
    ) -> bool:
        a = appointments.c
        happened = or_(
            a.status.in_((Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW)),
            and_(a.status == Status.CONFIRMED, a.start_at <= self._clock.now()),
        )
        query = select(a.id).where(a.patient_id == patient_id, happened)
        if besides:
            query = query.where(a.id.not_in(list(besides)))
        return (await conn.execute(query.limit(1))).first() is not None

    async def confirm(self, booking_id: str, patient_id: str) -> str:
        async with self._db.read() as conn:
            visit = await self.visit(conn, booking_id)
        if visit is None:
            raise VisitLost(f"booking {booking_id} no longer exists")
        if visit.status == Status.CONFIRMED and visit.patient_id == patient_id:
            return visit.booking_id
        if visit.status not in (Status.HELD, Status.EXPIRED):
            raise VisitLost(f"the booking is {visit.status}")
        slot = SlotRequest(
            visit.service, visit.visit_type, visit.duration_min, visit.start, visit.practitioner
        )
        actor = replace(SYSTEM, patient_id=patient_id)
        hold = booking_id if visit.status == Status.HELD else None
        try:
            view, _ = await self._bookings.book(actor, BookRequest(slot, None, hold), None)
        except booking_errors.HoldExpired:
            view, _ = await self._book_again(actor, slot)
        except DomainError as exc:
            raise VisitLost(exc.detail) from exc
        return view.id

    async def _book_again(self, actor: Any, slot: SlotRequest) -> Any:
        try:
            return await self._bookings.book(actor, BookRequest(slot, None, None), None)
        except DomainError as exc:
            raise VisitLost(f"the hold lapsed and the slot was taken ({exc.detail})") from exc
