"""The page bookings' unit of work and its deliveries (`calendars_calendly_invitee`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.calendars.page_bookings.ports import Delivery
from clinicflow.calendars.page_bookings.tables import calendly_invitees
from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection
from clinicflow.shared.records import from_attributes

ci = calendly_invitees.c
FLAGGED = ("flagged", "changed_here")


class SqlDeliveries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(self, delivery: Delivery, stale_before: datetime) -> bool:
        if await insert_ignoring_duplicates(self._conn, calendly_invitees, [_row(delivery)]):
            return True
        # A claim left "received" by a process that died mid-way is taken over once stale.
        taken = await self._conn.execute(
            update(calendly_invitees)
            .where(
                ci.invitee == delivery.invitee,
                ci.event == delivery.event,
                ci.outcome == "received",
                ci.received_at < stale_before,
            )
            .values(received_at=delivery.received_at)
        )
        return bool(taken.rowcount)

    async def settle(self, delivery: Delivery) -> None:
        values = _row(delivery)
        del values["invitee"], values["event"]
        await self._conn.execute(
            update(calendly_invitees)
            .where(ci.invitee == delivery.invitee, ci.event == delivery.event)
            .values(values)
        )

    async def release(self, invitee: str, event: str) -> None:
        await self._conn.execute(
            delete(calendly_invitees).where(
                ci.invitee == invitee, ci.event == event, ci.outcome == "received"
            )
        )

    async def get(self, invitee: str, event: str) -> Delivery | None:
        row = (
            await self._conn.execute(
                select(calendly_invitees).where(ci.invitee == invitee, ci.event == event)
            )
        ).first()
        return None if row is None else _delivery(row)

    async def of_booking(self, booking_id: str) -> Delivery | None:
        query = select(calendly_invitees).where(
            ci.booking_id == booking_id, ci.event == "invitee.created"
        )
        row = (await self._conn.execute(query)).first()
        return None if row is None else _delivery(row)

    async def flagged(self, limit: int) -> list[Delivery]:
        rows = await self._conn.execute(
            select(calendly_invitees)
            .where(ci.outcome.in_(FLAGGED))
            .order_by(ci.start_at, ci.received_at)
            .limit(limit)
        )
        return [_delivery(row) for row in rows]


def _row(d: Delivery) -> dict[str, object]:
    return {
        "invitee": d.invitee[:300],
        "event": d.event[:40],
        "outcome": d.outcome,
        "received_at": d.received_at,
        "booking_id": d.booking_id,
        "practitioner": d.practitioner,
        "service": d.service,
        "visit_type": d.visit_type,
        "start_at": d.start,
        "end_at": d.end,
        "scheduled_event": None if d.scheduled_event is None else d.scheduled_event[:300],
        "reason": None if d.reason is None else d.reason[:300],
    }


def _delivery(row: Row[tuple[object, ...]]) -> Delivery:
    return from_attributes(Delivery, row, start=row.start_at, end=row.end_at)


class SqlPageBookingsUnitOfWork(UnitOfWork):
    deliveries = on_connection(SqlDeliveries)
