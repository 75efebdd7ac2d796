"""The analytics unit of work and its one repository: the raw event record, and the order
in which the lake takes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import date

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.analytics.domain.lake import SourceEvent
from clinicflow.analytics.ports import RecordedEvent
from clinicflow.analytics.tables import availability_views, events
from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection

e = events.c
# PostgreSQL: one sequencer at a time (SQLite's write transactions are one at a time anyway).
_SEQUENCER_LOCK = int.from_bytes(b"cf-lake", "big")
_LOCK = select(func.pg_advisory_xact_lock(_SEQUENCER_LOCK))
_TOP = select(func.coalesce(func.max(e.seq), 0))
_PLACE = update(events).where(e.event_id == bindparam("b_id")).values(seq=bindparam("b_seq"))
_RECORDED = tuple(f.name for f in fields(RecordedEvent))


def _row(event: RecordedEvent) -> dict[str, object]:
    """The event's columns (not `asdict`, which deep-copies each payload again: the
    recorder's payload is its own copy already)."""
    return {name: getattr(event, name) for name in _RECORDED}


class SqlEventLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, event: RecordedEvent) -> bool:
        return await insert_ignoring_duplicates(self._conn, events, [_row(event)]) == 1

    async def add_many(self, recorded: Sequence[RecordedEvent]) -> int:
        return await insert_ignoring_duplicates(self._conn, events, [_row(r) for r in recorded])

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


class SqlViewCounts:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, counts: Mapping[tuple[date, str], int]) -> None:
        if not counts:
            return
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        new = dialect.insert(availability_views)
        statement = new.on_conflict_do_update(
            index_elements=["day", "service"],
            set_={"views": availability_views.c.views + new.excluded.views},
        )
        rows = [{"day": d, "service": s, "views": n} for (d, s), n in sorted(counts.items())]
        await self._conn.execute(statement, rows)

    async def between(self, lo: date, hi: date) -> list[tuple[date, str, int]]:
        v = availability_views.c
        query = select(v.day, v.service, v.views).where(v.day >= lo, v.day <= hi)
        return [
            (row.day, str(row.service), int(row.views))
            for row in await self._conn.execute(query.order_by(v.day, v.service))
        ]


class SqlAnalyticsUnitOfWork(UnitOfWork):
    events = on_connection(SqlEventLog)
    views = on_connection(SqlViewCounts)
