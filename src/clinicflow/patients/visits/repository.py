"""Visit history and service enrollments, kept current from booking events.

Booking hands each of its events to the history inside the transaction that produced it
(`VisitHistory.on(conn)`, built by booking's unit of work on its connection), so the history
can never disagree with the bookings it mirrors. The patient use cases read it, and a merge
moves it, through `SqlVisitRepository`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Executable, delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.outbox import Event
from clinicflow.patients.domain.visit import Enrollment, Visit
from clinicflow.patients.tables import enrollments, visits

e, v = enrollments.c, visits.c


class SqlVisitRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def seen_by(self, practitioner: str | None, patient_id: str) -> bool:
        if practitioner is None:
            return False
        query = select(exists().where(v.practitioner == practitioner, v.patient_id == patient_id))
        return bool((await self._conn.execute(query)).scalar())

    async def of_patient(self, patient_id: str) -> list[Visit]:
        query = select(visits).where(v.patient_id == patient_id).order_by(v.start_at)
        return [
            Visit(
                str(r.booking_id),
                str(r.patient_id),
                r.service,
                r.visit_type,
                r.practitioner,
                r.status,
                r.start_at,
                r.end_at,
            )
            for r in await self._conn.execute(query)
        ]

    async def enrollments(self, patient_id: str) -> list[Enrollment]:
        query = select(enrollments).where(e.patient_id == patient_id).order_by(e.since)
        return [
            Enrollment(str(r.patient_id), r.service, r.since, r.status, r.updated_at)
            for r in await self._conn.execute(query)
        ]

    async def move(self, source_id: str, target_id: str) -> int:
        result = await self._conn.execute(
            update(visits).where(v.patient_id == source_id).values(patient_id=target_id)
        )
        return int(result.rowcount)

    async def take_over_enrollments(
        self, source_id: str, target_id: str, enrollments_: list[Enrollment]
    ) -> None:
        services = [x.service for x in enrollments_]
        mine = (e.patient_id == target_id) & e.service.in_(services)
        await self._conn.execute(delete(enrollments).where(or_(e.patient_id == source_id, mine)))
        if enrollments_:
            await self._conn.execute(
                enrollments.insert(),
                [
                    {
                        "patient_id": target_id,
                        "service": x.service,
                        "since": x.since,
                        "status": x.status,
                        "updated_at": x.updated_at,
                    }
                    for x in enrollments_
                ],
            )


class VisitHistory:
    """Booking's in-transaction listener: `on(conn)` for a unit of work's connection."""

    def on(self, conn: AsyncConnection) -> BoundVisitHistory:
        return BoundVisitHistory(conn)

    async def handle(self, conn: AsyncConnection, event: Event) -> None:
        """Transitional (issue 15): booking's listener port as it was, with a connection;
        goes once booking's unit of work builds `on(conn)`."""
        await BoundVisitHistory(conn).handle(event)


class BoundVisitHistory:
    """The visit history on one transaction's connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def handle(self, event: Event) -> None:
        if not event.type.startswith("booking."):
            return
        payload: Mapping[str, object] = event.payload
        patient_id = payload.get("patient_id")
        if patient_id is None:  # a hold nobody has claimed yet
            return
        visit, enroll = _upserts(self._conn.dialect.name)
        now = event.occurred_at
        values = {
            "booking_id": payload["booking_id"],
            "patient_id": patient_id,
            "service": payload["service"],
            "visit_type": payload["visit_type"],
            "practitioner": payload["practitioner"],
            "status": payload["status"],
            "start_at": datetime.fromisoformat(str(payload["start"])),
            "end_at": datetime.fromisoformat(str(payload["end"])),
            "updated_at": now,
        }
        await self._conn.execute(visit, values)
        if event.type == "booking.created":
            enrolled = {
                "patient_id": patient_id,
                "service": payload["service"],
                "since": now,
                "status": "active",
                "updated_at": now,
            }
            await self._conn.execute(enroll, enrolled)


@functools.cache
def _upserts(dialect: str) -> tuple[Executable, Executable]:
    """One statement each, built once per dialect (both speak ON CONFLICT): these run inside
    every booking write. The visit is inserted or brought up to date; the enrollment is
    made, or made active again if it had paused, completed or withdrawn."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new_visit = insert(visits)
    visit = new_visit.on_conflict_do_update(
        index_elements=[v.booking_id],
        set_={c.name: new_visit.excluded[c.name] for c in visits.c if c.name != "booking_id"},
    )
    new_enrollment = insert(enrollments)
    enroll = new_enrollment.on_conflict_do_update(
        index_elements=[e.patient_id, e.service],
        set_={"status": "active", "updated_at": new_enrollment.excluded.updated_at},
        where=e.status != "active",
    )
    return visit, enroll
