"""The analytics unit of work and its one repository: the raw event record."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.analytics.ports import RecordedEvent
from clinicflow.analytics.tables import events
from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.infra.unit_of_work import UnitOfWork


class SqlEventLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, event: RecordedEvent) -> bool:
        return await insert_ignoring_duplicates(self._conn, events, [asdict(event)]) == 1


class SqlAnalyticsUnitOfWork(UnitOfWork):
    @property
    def events(self) -> SqlEventLog:
        return SqlEventLog(self.connection)  # TransactionClosed outside `async with`
