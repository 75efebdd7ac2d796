"""Adapters between contexts that only the composition root may write: one context's port
implemented over another's use cases and tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import errors as booking_errors
from clinicflow.booking import queries as booking_queries
from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain.lifecycle import Status
from clinicflow.booking.service import BookingService
from clinicflow.booking.tables import appointments
from clinicflow.booking.views import BookingView
from clinicflow.calendars.feeds.ports import FeedVisit
from clinicflow.infra.db import Database
from clinicflow.payments.ports import Visit, VisitLost
from clinicflow.shared.actor import SYSTEM, Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError


class BookingVisits:
    """Payments' Visits port: booking's appointments read on the payments unit of work's
    connection (so in its transaction)."""

    def __init__(self, conn: AsyncConnection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    async def visit(self, booking_id: str) -> Visit | None:
        row = await booking_queries.appointment(self._conn, booking_id)
        if row is None:
            return None
        status = row.status_at(self._clock.now())
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

    async def visited_before(self, patient_id: str, besides: Sequence[str]) -> bool:
        a = appointments.c
        happened = or_(
            a.status.in_((Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW)),
            and_(a.status == Status.CONFIRMED, a.start_at <= self._clock.now()),
        )
        query = select(a.id).where(a.patient_id == patient_id, happened)
        if besides:
            query = query.where(a.id.not_in(list(besides)))
        return (await self._conn.execute(query.limit(1))).first() is not None


class BookingDeskAdapter:
    """Payments' BookingDesk port over booking's own use cases: a paid hold is confirmed by
    `BookingService.book` as the patient would, through the system actor acting for them."""

    def __init__(self, *, db: Database, clock: Clock, bookings: BookingService) -> None:
        self._db = db
        self._clock = clock
        self._bookings = bookings

    async def confirm(self, booking_id: str, patient_id: str) -> str:
        async with self._db.read() as conn:
            visit = await BookingVisits(conn, self._clock).visit(booking_id)
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

    async def _book_again(self, actor: Actor, slot: SlotRequest) -> tuple[BookingView, bool]:
        try:
            return await self._bookings.book(actor, BookRequest(slot, None, None), None)
        except DomainError as exc:
            raise VisitLost(f"the hold lapsed and the slot was taken ({exc.detail})") from exc


class BookingFeedVisits:
    """Calendars' FeedBookings port: a practitioner's visits from booking's read model, on the
    feed unit of work's connection (so in its transaction)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of(
        self, practitioner: str, start: datetime, end: datetime, cancelled_since: datetime
    ) -> list[FeedVisit]:
        rows = await booking_queries.practitioner_calendar(
            self._conn, practitioner, start, end, cancelled_since
        )
        return [
            FeedVisit(
                booking_id=r.id,
                service=r.service,
                start=r.start,
                end=r.end,
                cancelled=r.status == Status.CANCELLED,
                updated_at=r.updated_at,
            )
            for r in rows
        ]
