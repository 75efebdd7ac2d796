"""Booking's side of a patient merge: the duplicate's bookings move to the survivor."""

from __future__ import annotations

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import alias

from clinicflow.booking.errors import PatientUnavailable
from clinicflow.booking.tables import OCCUPYING, appointments
from clinicflow.shared.clock import Clock


class PatientReassigner:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def reassign(self, conn: AsyncConnection, source_id: str, target_id: str) -> int:
        # The same check PostgreSQL's exclusion constraint makes, asked first so that both
        # databases answer with the same error.
        if await self._overlapping(conn, source_id, target_id):
            raise PatientUnavailable(
                "the two records have visits at overlapping times; cancel or move one of "
                "them, then merge again"
            )
        a = appointments.c
        result = await conn.execute(
            update(appointments).where(a.patient_id == source_id).values(patient_id=target_id)
        )
        return int(result.rowcount)

    async def _overlapping(self, conn: AsyncConnection, source_id: str, target_id: str) -> bool:
        mine, theirs = alias(appointments), alias(appointments)
        live = [
            t.c.status.in_(OCCUPYING) & ((t.c.status != "held") | (t.c.hold_expires_at > now))
            for t in (mine, theirs)
            for now in (self._clock.now(),)
        ]
        query = select(mine.c.id).where(
            mine.c.patient_id == source_id,
            theirs.c.patient_id == target_id,
            and_(*live),
            mine.c.start_at < theirs.c.end_at,
            mine.c.end_at > theirs.c.start_at,
        )
        return (await conn.execute(query.limit(1))).first() is not None
