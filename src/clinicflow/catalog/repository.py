"""The catalog's unit of work and its one repository: the services launched at run time.

`launched_services` and `record_launch` take a connection so that another context's
repository can read or record a launch inside its own transaction (booking's, when the
waitlist launches a service and books its first wave in one commit).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog.tables import launches
from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection


async def launched_services(conn: AsyncConnection) -> frozenset[str]:
    return frozenset(str(k) for k in (await conn.execute(select(launches.c.service))).scalars())


async def record_launch(conn: AsyncConnection, service: str, at: datetime, by: str) -> bool:
    """Whether this call launched it: False when it had been launched before."""
    row = {"service": service, "launched_at": at, "launched_by": by[:64]}
    return await insert_ignoring_duplicates(conn, launches, [row]) == 1


class SqlLaunchRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def launched(self) -> frozenset[str]:
        return await launched_services(self._conn)

    async def record(self, service: str, at: datetime, by: str) -> bool:
        return await record_launch(self._conn, service, at, by)


class SqlCatalogUnitOfWork(UnitOfWork):
    launches = on_connection(SqlLaunchRepository)
