"""Read side: the EHR conflicts staff settle."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.integrations.tables import ehr_conflicts
from clinicflow.integrations.views import ConflictView
from clinicflow.shared.records import from_attributes

cf = ehr_conflicts.c


class SqlConflictList:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def conflicts(self, *, open_only: bool, limit: int) -> list[ConflictView]:
        """Newest first."""
        query = select(ehr_conflicts).order_by(cf.detected_at.desc(), cf.id).limit(limit)
        if open_only:
            query = query.where(cf.resolved_at.is_(None))
        return [
            from_attributes(ConflictView, r, fields=[str(f) for f in r.fields or []])
            for r in await self._conn.execute(query)
        ]
