"""The flags' unit of work and repository: `flags_flag` rows in, `FlagView`s out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.flags.tables import flags
from clinicflow.flags.views import FlagView
from clinicflow.infra.db import upsert
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection


class SqlFlagRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def all(self) -> list[FlagView]:
        rows = await self._conn.execute(select(flags))
        return [
            FlagView(
                key=r.key,
                enabled=bool(r.enabled),
                percentage=int(r.percentage),
                description=r.description,
                updated_at=r.updated_at,
                updated_by=r.updated_by,
            )
            for r in rows
        ]

    async def put(self, flag: FlagView) -> None:
        """An upsert in each dialect's ON CONFLICT."""
        changed = {
            "enabled": flag.enabled,
            "percentage": flag.percentage,
            "description": flag.description,
            "updated_at": flag.updated_at,
            "updated_by": flag.updated_by,
        }
        await upsert(self._conn, flags, {"key": flag.key, **changed}, ["key"], changed)


class SqlFlagsUnitOfWork(UnitOfWork):
    flags = on_connection(SqlFlagRepository)
