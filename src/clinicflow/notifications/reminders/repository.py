"""The reminders' SQL: rows in, `DueReminder`s out. Scheduling is idempotent on (booking,
kind, start), so a redelivered event adds nothing; moving or cancelling is a plain update."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.notifications.domain.schedule import DueReminder, Reminder
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.tables import reminders

r = reminders.c


class SqlReminders:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def schedule(
        self, visit: Visit, patient_id: str, planned: Sequence[Reminder], now: datetime
    ) -> None:
        rows: list[dict[str, object]] = [
            {
                "id": str(uuid.uuid4()),
                "booking_id": visit.booking_id,
                "patient_id": patient_id,
                "send_at": p.send_at,
                "kind": p.kind,
                "status": "scheduled",
                "booking_start_at": visit.start,
                "created_at": now,
                "updated_at": now,
            }
            for p in planned
        ]
        await insert_ignoring_duplicates(self._conn, reminders, rows)

    async def cancel(
        self, booking_id: str, now: datetime, keep_start: datetime | None = None
    ) -> None:
        where = [r.booking_id == booking_id, r.status == "scheduled"]
        if keep_start is not None:
            where.append(r.booking_start_at != keep_start)
        await self._conn.execute(
            update(reminders).where(*where).values(status="cancelled", updated_at=now)
        )

    async def claim_due(self, now: datetime, limit: int) -> list[DueReminder]:
        """Locked so that concurrent workers on PostgreSQL take different ones (SQLite
        serializes writers, which the write transaction already does)."""
        query = (
            select(r.id, r.booking_id, r.patient_id, r.kind, r.send_at, r.booking_start_at)
            .where(r.status == "scheduled", r.send_at <= now)
            .order_by(r.send_at)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [DueReminder(*row) for row in (await self._conn.execute(query)).all()]

    async def close(self, reminder_id: str, status: str, now: datetime, reason: str | None) -> None:
        await self._conn.execute(
            update(reminders)
            .where(r.id == reminder_id)
            .values(status=status, reason=reason, updated_at=now)
        )
