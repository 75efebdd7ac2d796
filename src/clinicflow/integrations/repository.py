"""The integrations' unit of work: EHR links, conflicts and webhook ids, SQL in, frozen
dataclasses out."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import upsert
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection
from clinicflow.integrations.ports import EhrLink, NewConflict
from clinicflow.integrations.queries import SqlConflictList
from clinicflow.integrations.tables import ehr_conflicts, ehr_links, ehr_notices

lk, cf = ehr_links.c, ehr_conflicts.c


class SqlEhrLinks:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_patient(self, patient_id: str) -> EhrLink | None:
        return await self._one(lk.patient_id == patient_id)

    async def of_remote(self, remote_id: str) -> EhrLink | None:
        return await self._one(lk.remote_id == remote_id)

    async def _one(self, where: ColumnElement[bool]) -> EhrLink | None:
        row = (await self._conn.execute(select(ehr_links).where(where))).first()
        if row is None:
            return None
        return EhrLink(row.patient_id, row.remote_id, row.synced_digest, row.synced_at)

    async def put(self, link: EhrLink) -> None:
        changed = {
            "remote_id": link.remote_id,
            "synced_digest": link.synced_digest,
            "synced_at": link.synced_at,
        }
        row = {"patient_id": link.patient_id, **changed}
        await upsert(self._conn, ehr_links, row, ["patient_id"], changed)

    async def forget(self, patient_id: str) -> None:
        await self._conn.execute(delete(ehr_links).where(lk.patient_id == patient_id))
        await self._conn.execute(delete(ehr_conflicts).where(cf.patient_id == patient_id))


class SqlConflicts:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_once(self, conflict: NewConflict, now: datetime) -> bool:
        same = select(cf.id).where(
            cf.resolved_at.is_(None),
            cf.kind == conflict.kind,
            cf.patient_id == conflict.patient_id,
            (
                cf.remote_version.is_(None)
                if conflict.remote_version is None
                else cf.remote_version == conflict.remote_version
            ),
        )
        if (await self._conn.execute(same.limit(1))).first() is not None:
            return False
        await self._conn.execute(
            insert(ehr_conflicts).values(
                id=str(uuid.uuid4()),
                patient_id=conflict.patient_id,
                remote_id=conflict.remote_id,
                kind=conflict.kind,
                fields=list(conflict.fields),
                remote_version=conflict.remote_version,
                detail=conflict.detail,
                detected_at=now,
            )
        )
        return True

    async def resolve(self, conflict_id: str, actor_id: str, now: datetime) -> str | None:
        where = and_(cf.id == conflict_id, cf.resolved_at.is_(None))
        row = (await self._conn.execute(select(cf.patient_id).where(where))).first()
        if row is None:
            return None
        await self._conn.execute(
            update(ehr_conflicts).where(where).values(resolved_at=now, resolved_by=actor_id)
        )
        return str(row.patient_id)


class SqlNotices:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def first_time(self, notice_id: str, now: datetime) -> bool:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(ehr_notices)
            .values(notice_id=notice_id, received_at=now)
            .on_conflict_do_nothing(index_elements=["notice_id"])
        )
        result = await self._conn.execute(statement)
        return bool(result.rowcount)


class SqlIntegrationsUnitOfWork(UnitOfWork):
    links = on_connection(SqlEhrLinks)
    conflicts = on_connection(SqlConflicts)
    notices = on_connection(SqlNotices)
    conflict_list = on_connection(SqlConflictList)
