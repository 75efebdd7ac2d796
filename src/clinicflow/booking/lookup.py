"""A booking as it stands at this instant, for contexts that must judge it now (a reminder
about to go out): read inside the caller's transaction, no PHI, no audit needed (ids and
times only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.tables import appointments


@dataclass(frozen=True, slots=True)
class BookingNow:
    id: str
    status: str
    service: str
    visit_type: str
    practitioner: str
    start: datetime
    end: datetime
    patient_id: str | None


async def booking_now(conn: AsyncConnection, booking_id: str) -> BookingNow | None:
    a = appointments.c
    query = select(
        a.id, a.status, a.service, a.visit_type, a.practitioner, a.start_at, a.end_at, a.patient_id
    ).where(a.id == booking_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return BookingNow(
        row.id,
        row.status,
        row.service,
        row.visit_type,
        row.practitioner,
        row.start_at,
        row.end_at,
        row.patient_id,
    )
