"""The flags' unit of work and repository: `flags_flag` rows in, `FlagView`s out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.flags.tables import flags
from clinicflow.flags.views import FlagView
from clinicflow.infra.columns import stored
from clinicflow.infra.db import upsert
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection
from clinicflow.shared.records import from_attributes


class SqlFlagRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def all(self) -> list[FlagView]:
        rows = await self._conn.execute(select(flags))
        return [from_attributes(FlagView, r) for r in rows]

    async def put(self, flag: FlagView) -> None:
        """An upsert in each dialect's ON CONFLICT."""
        row = stored(flags, flag)
        changed = {name: value for name, value in row.items() if name != "key"}
        await upsert(self._conn, flags, row, ["key"], changed)


class SqlFlagsUnitOfWork(UnitOfWork):
    flags = on_connection(SqlFlagRepository)
