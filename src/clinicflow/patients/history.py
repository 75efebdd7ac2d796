"""Visit history and service enrollments, kept current from booking events.

Booking hands each of its events to this listener inside the transaction that produced it,
so the history can never disagree with the bookings it mirrors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.outbox import Event
from clinicflow.patients.tables import enrollments, visits


class VisitHistory:
    async def handle(self, conn: AsyncConnection, event: Event) -> None:
        if not event.type.startswith("booking."):
            return
        payload = event.payload
        patient_id = payload.get("patient_id")
        if patient_id is None:  # a hold nobody has claimed yet
            return
        await self._upsert_visit(conn, payload, event.occurred_at)
        if event.type == "booking.created":
            await _enroll(conn, patient_id, payload["service"], event.occurred_at)

    async def _upsert_visit(
        self, conn: AsyncConnection, payload: dict[str, Any], now: datetime
    ) -> None:
        values = {
            "patient_id": payload["patient_id"],
            "service": payload["service"],
            "visit_type": payload["visit_type"],
            "practitioner": payload["practitioner"],
            "status": payload["status"],
            "start_at": datetime.fromisoformat(payload["start"]),
            "end_at": datetime.fromisoformat(payload["end"]),
            "updated_at": now,
        }
        booking_id = payload["booking_id"]
        # The booking row is locked by the writer that produced the event, so no other
        # transaction races this update-then-insert for the same booking.
        done = await conn.execute(
            update(visits).where(visits.c.booking_id == booking_id).values(**values)
        )
        if done.rowcount == 0:
            await conn.execute(insert(visits).values(booking_id=booking_id, **values))


async def _enroll(conn: AsyncConnection, patient_id: str, service: str, now: datetime) -> None:
    e = enrollments.c
    current = (
        await conn.execute(select(e.status).where(e.patient_id == patient_id, e.service == service))
    ).scalar_one_or_none()
    if current is None:
        await conn.execute(
            insert(enrollments).values(
                patient_id=patient_id, service=service, since=now, status="active", updated_at=now
            )
        )
    elif current != "active":
        await conn.execute(
            update(enrollments)
            .where(e.patient_id == patient_id, e.service == service)
            .values(status="active", updated_at=now)
        )
