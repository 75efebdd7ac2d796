"""Reading patients: a profile, a search by contact, the multi-service record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import Database
from clinicflow.patients import repository as repo
from clinicflow.patients.cipher import PatientCipher
from clinicflow.patients.domain.access import Need, sees_all
from clinicflow.patients.guard import PatientGuard, access
from clinicflow.patients.tables import enrollments, merges, patients, visits
from clinicflow.patients.views import (
    EnrollmentView,
    PatientView,
    RecordView,
    ServiceHistory,
    VisitView,
)
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock


class PatientReader:
    def __init__(
        self, db: Database, clock: Clock, cipher: PatientCipher, guard: PatientGuard
    ) -> None:
        self._db = db
        self._clock = clock
        self._cipher = cipher
        self._guard = guard

    async def get(self, actor: Actor, patient_id: str) -> PatientView:
        await self._guard.require_role(actor, Need.READ, patient_id)

        async def load() -> PatientView:
            async with self._db.read() as conn:
                found = await repo.load(conn, patient_id)
                row, decision = await self._guard.check(conn, actor, Need.READ, found, patient_id)
            await self._guard.trail.record_alone(
                actor, "read", [access(patient_id)], break_glass=decision.break_glass
            )
            return PatientView.of(row, self._cipher)

        return await self._guard.trail.denying(actor, "read", load)

    async def search(
        self, actor: Actor, *, email: str | None, phone: str | None
    ) -> list[PatientView]:
        """Exact match on a normalized email or phone, through the blind index."""
        await self._guard.require_role(actor, Need.SEARCH, None)
        column, value = ("email", email) if email else ("phone", phone)
        bidx = self._cipher.index(value, column)
        async with self._db.read() as conn:
            query = select(patients).where(patients.c[f"{column}_bidx"] == bidx)
            rows = list((await conn.execute(query.order_by(patients.c.created_at))).all())
            if actor.role is Role.PRACTITIONER and not sees_all(actor, Need.SEARCH):
                rows = [r for r in rows if await repo.seen_by(conn, actor.practitioner, r.id)]
        await self._guard.trail.record_alone(actor, "search", [access(r.id) for r in rows])
        return [PatientView.of(row, self._cipher) for row in rows]

    async def record(self, actor: Actor, patient_id: str) -> RecordView:
        await self._guard.require_role(actor, Need.RECORD, patient_id)

        async def load() -> RecordView:
            async with self._db.read() as conn:
                found = await repo.load(conn, patient_id)
                row, decision = await self._guard.check(conn, actor, Need.RECORD, found, patient_id)
                view = await self._assemble(conn, row)
            await self._guard.trail.record_alone(
                actor, "read_record", [access(patient_id)], break_glass=decision.break_glass
            )
            return view

        return await self._guard.trail.denying(actor, "read_record", load)

    async def _assemble(self, conn: AsyncConnection, row: Any) -> RecordView:
        now = self._clock.now()
        e, v = enrollments.c, visits.c
        enrolled = await conn.execute(
            select(e.service, e.since, e.status).where(e.patient_id == row.id).order_by(e.since)
        )
        by_service: dict[str, ServiceHistory] = {}
        visit_rows = await conn.execute(
            select(visits).where(v.patient_id == row.id).order_by(v.start_at)
        )
        for visit in visit_rows:
            entry = by_service.setdefault(visit.service, ServiceHistory(visit.service))
            view = VisitView(
                visit.booking_id,
                visit.service,
                visit.visit_type,
                visit.practitioner,
                visit.status,
                visit.start_at,
                visit.end_at,
            )
            (entry.upcoming if visit.start_at > now else entry.past).append(view)
        referred = await conn.execute(
            select(patients.c.id)
            .where(patients.c.referred_by_patient_id == row.id)
            .order_by(patients.c.created_at)
        )
        merged = await conn.execute(
            select(merges.c.source_id)
            .where(merges.c.target_id == row.id)
            .order_by(merges.c.merged_at)
        )
        return RecordView(
            patient=PatientView.of(row, self._cipher),
            enrollments=[EnrollmentView(s, since, st) for s, since, st in enrolled],
            services=list(by_service.values()),
            referred_patients=[str(r) for (r,) in referred],
            merged_from=[str(m) for (m,) in merged],
        )
