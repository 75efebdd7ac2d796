"""Visit history and service enrollments, kept current from booking events.

Booking hands each of its events to this listener inside the transaction that produced it,
so the history can never disagree with the bookings it mirrors.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.dialects import postgresql, sqlite
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
        visit, _ = _upserts(conn.dialect.name)
        values = {
            "booking_id": payload["booking_id"],
            "patient_id": payload["patient_id"],
            "service": payload["service"],
            "visit_type": payload["visit_type"],
            "practitioner": payload["practitioner"],
            "status": payload["status"],
            "start_at": datetime.fromisoformat(payload["start"]),
            "end_at": datetime.fromisoformat(payload["end"]),
            "updated_at": now,
        }
        await conn.execute(visit, values)


async def _enroll(conn: AsyncConnection, patient_id: str, service: str, now: datetime) -> None:
    _, enroll = _upserts(conn.dialect.name)
    values = {
        "patient_id": patient_id,
        "service": service,
        "since": now,
        "status": "active",
        "updated_at": now,
    }
    await conn.execute(enroll, values)


@functools.cache
def _upserts(dialect: str) -> tuple[Executable, Executable]:
    """One statement each, built once per dialect (both speak ON CONFLICT): these run inside
    every booking write. The visit is inserted or brought up to date; the enrollment is
    made, or made active again if it had paused, completed or withdrawn."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new_visit = insert(visits)
    visit = new_visit.on_conflict_do_update(
        index_elements=[visits.c.booking_id],
        set_={c.name: new_visit.excluded[c.name] for c in visits.c if c.name != "booking_id"},
    )
    new_enrollment = insert(enrollments)
    e = enrollments.c
    enroll = new_enrollment.on_conflict_do_update(
        index_elements=[e.patient_id, e.service],
        set_={"status": "active", "updated_at": new_enrollment.excluded.updated_at},
        where=e.status != "active",
    )
    return visit, enroll
