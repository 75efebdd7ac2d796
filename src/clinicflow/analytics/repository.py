"""The analytics unit of work and its one repository: the raw event record, and the order
in which the lake takes it."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.analytics.domain.lake import SourceEvent
from clinicflow.analytics.ports import RecordedEvent
from clinicflow.analytics.tables import events
from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.infra.unit_of_work import UnitOfWork

e = events.c
# PostgreSQL: one sequencer at a time (SQLite's write transactions are one at a time anyway).
_SEQUENCER_LOCK = int.from_bytes(b"cf-lake", "big")
_LOCK = select(func.pg_advisory_xact_lock(_SEQUENCER_LOCK))
_TOP = select(func.coalesce(func.max(e.seq), 0))
_PLACE = update(events).where(e.event_id == bindparam("b_id")).values(seq=bindparam("b_seq"))


class SqlEventLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, event: RecordedEvent) -> bool:
        return await insert_ignoring_duplicates(self._conn, events, [asdict(event)]) == 1

    async def sequence(self, limit: int) -> int:
        # Places are given under a lock held to commit, so a place is visible only after
        # every lower one: an id drawn at insert would commit out of order (two recorders'
        # transactions), and a writer that passed a gap would never come back for it.
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(_LOCK)
        top = int((await self._conn.execute(_TOP)).scalar_one())
        waiting = select(e.event_id).where(e.seq.is_(None))
        ids = (
            await self._conn.execute(waiting.order_by(e.recorded_at, e.event_id).limit(limit))
        ).scalars()
        places = [{"b_id": event_id, "b_seq": top + n} for n, event_id in enumerate(ids, 1)]
        if places:
            await self._conn.execute(_PLACE, places)
        return len(places)

    async def after(self, seq: int, limit: int) -> list[SourceEvent]:
        query = (
            select(e.seq, e.event_id, e.type, e.version, e.occurred_at, e.recorded_at, e.payload)
            .where(e.seq > seq)
            .order_by(e.seq)
            .limit(limit)
        )
        return [
            SourceEvent(
                seq=int(row.seq),
                event_id=str(row.event_id),
                type=str(row.type),
                version=int(row.version),
                occurred_at=row.occurred_at,
                recorded_at=row.recorded_at,
                payload=dict(row.payload or {}),
            )
            for row in await self._conn.execute(query)
        ]

    async def count_after(self, seq: int) -> int:
        query = select(func.count()).where(or_(e.seq > seq, e.seq.is_(None)))
        return int((await self._conn.execute(query)).scalar_one())


class SqlAnalyticsUnitOfWork(UnitOfWork):
    @property
    def events(self) -> SqlEventLog:
        return SqlEventLog(self.connection)  # TransactionClosed outside `async with`
