"""The calendars' unit of work and repositories: the busy store's rows in, frozen values out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.calendars.domain.busy import BusyInterval, ShowAs, SyncState
from clinicflow.calendars.domain.merge import Plan
from clinicflow.calendars.page_bookings.tables import calendly_invitees as invitees
from clinicflow.calendars.tables import busy_intervals as busy
from clinicflow.calendars.tables import sync_states as states
from clinicflow.infra.columns import stored
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection
from clinicflow.shared.minutes import to_minute, to_minute_ceil
from clinicflow.shared.records import from_attributes

BLOCKING = [s.value for s in ShowAs if s.blocks]
# A Calendly page booking is clinicflow's own once its `invitee.created` is claimed here (the
# import is under way) or imported; flagged or withdrawn, its Calendly event blocks again.
OWN = and_(invitees.c.event == "invitee.created", invitees.c.outcome.in_(("received", "imported")))
# Ids per statement: well under SQLite's 32766 bound parameters.
_CHUNK = 500


_TABLES = {"busy": busy, "states": states}


async def _upsert(
    conn: AsyncConnection,
    name: str,
    rows: Sequence[Mapping[str, object]],
    keys: list[str],
    columns: Sequence[str],
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE `columns` into the table `name`, in each
    dialect's words."""
    table = _TABLES[name]
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).values(list(rows))
        changed = {name: pg.excluded[name] for name in columns}
        await conn.execute(pg.on_conflict_do_update(index_elements=keys, set_=changed))
    else:
        lite = sqlite.insert(table).values(list(rows))
        changed = {name: lite.excluded[name] for name in columns}
        await conn.execute(lite.on_conflict_do_update(index_elements=keys, set_=changed))


def _interval(r: Row[tuple[object, ...]]) -> BusyInterval:
    m = r._mapping
    return BusyInterval(
        source=str(m["source"]),
        practitioner=str(m["practitioner"]),
        external_id=str(m["external_id"]),
        start=m["starts_at"],
        end=m["ends_at"],
        show_as=ShowAs(m["show_as"]),
        etag=m["etag"],
    )


class SqlBusyStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def held(
        self,
        source: str,
        practitioner: str,
        ids: Sequence[str],
        window: tuple[datetime, datetime] | None = None,
    ) -> list[BusyInterval]:
        mine = and_(busy.c.source == source, busy.c.practitioner == practitioner)
        found: dict[str, BusyInterval] = {}
        if window is not None:
            inside = and_(busy.c.starts_at < window[1], busy.c.ends_at > window[0])
            for r in await self._conn.execute(select(busy).where(mine, inside)):
                found[r.external_id] = _interval(r)
        wanted = sorted(set(ids) - set(found))
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            rows = await self._conn.execute(select(busy).where(mine, busy.c.external_id.in_(chunk)))
            found.update((r.external_id, _interval(r)) for r in rows)
        return list(found.values())

    async def carry_out(self, plan: Plan, fetched_at: datetime) -> None:
        mine = and_(busy.c.source == plan.source, busy.c.practitioner == plan.practitioner)
        removed = list(plan.remove)
        for i in range(0, len(removed), _CHUNK):
            chunk = removed[i : i + _CHUNK]
            await self._conn.execute(delete(busy).where(mine, busy.c.external_id.in_(chunk)))
        if not plan.upsert:
            return
        rows = [
            {
                "source": i.source,
                "practitioner": i.practitioner,
                "external_id": i.external_id,
                "etag": i.etag,
                "starts_at": i.start,
                "ends_at": i.end,
                "start_minute": to_minute(i.start),
                "end_minute": to_minute_ceil(i.end),
                "show_as": i.show_as.value,
                "fetched_at": fetched_at,
            }
            for i in plan.upsert
        ]
        keys = ["source", "practitioner", "external_id"]
        columns = (
            "etag",
            "starts_at",
            "ends_at",
            "start_minute",
            "end_minute",
            "show_as",
            "fetched_at",
        )
        for i in range(0, len(rows), 100):
            await _upsert(self._conn, "busy", rows[i : i + 100], keys, columns)

    async def blocking(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> list[BusyInterval]:
        if not practitioners:
            return []
        inside = (busy.c.starts_at < end, busy.c.ends_at > start)
        query = select(busy).where(*_blocking(practitioners), *inside)
        return [_interval(r) for r in await self._conn.execute(query)]

    async def blocking_minutes(
        self, practitioners: Sequence[str], start: int, end: int
    ) -> list[tuple[str, int, int]]:
        if not practitioners:
            return []
        inside = (busy.c.start_minute < end, busy.c.end_minute > start)
        query = select(busy.c.practitioner, busy.c.start_minute, busy.c.end_minute).where(
            *_blocking(practitioners), *inside
        )
        return [(str(p), int(lo), int(hi)) for p, lo, hi in await self._conn.execute(query)]

    async def own(self, source: str, ids: Sequence[str]) -> set[str]:
        if source != "calendly" or not ids:
            return set()
        found: set[str] = set()
        wanted = sorted(set(ids))
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            query = select(invitees.c.scheduled_event).where(
                invitees.c.scheduled_event.in_(chunk), OWN
            )
            found.update(str(e) for e in (await self._conn.execute(query)).scalars())
        return found

    async def counts(self) -> dict[tuple[str, str], int]:
        query = select(busy.c.source, busy.c.practitioner, func.count()).group_by(
            busy.c.source, busy.c.practitioner
        )
        return {(str(s), str(p)): int(n) for s, p, n in await self._conn.execute(query)}


def _blocking(practitioners: Sequence[str]) -> tuple[ColumnElement[bool], ...]:
    """These practitioners' intervals that block time, but for Calendly page bookings that
    are clinicflow's own (their booking holds the time)."""
    own = exists().where(
        busy.c.source == "calendly", invitees.c.scheduled_event == busy.c.external_id, OWN
    )
    return (busy.c.practitioner.in_(list(practitioners)), busy.c.show_as.in_(BLOCKING), ~own)


def _state(r: Row[tuple[object, ...]]) -> SyncState:
    extra = r._mapping["extra"] or {}
    return from_attributes(SyncState, r, extra={str(k): str(v) for k, v in dict(extra).items()})


class SqlSyncStates:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, source: str, practitioner: str) -> SyncState | None:
        query = select(states).where(
            states.c.source == source, states.c.practitioner == practitioner
        )
        row = (await self._conn.execute(query)).first()
        return _state(row) if row is not None else None

    async def of(self, practitioners: Sequence[str]) -> list[SyncState]:
        if not practitioners:
            return []
        query = select(states).where(states.c.practitioner.in_(list(practitioners)))
        return [_state(r) for r in await self._conn.execute(query)]

    async def all(self) -> list[SyncState]:
        query = select(states).order_by(states.c.source, states.c.practitioner)
        return [_state(r) for r in await self._conn.execute(query)]

    async def put(self, state: SyncState) -> None:
        row = stored(states, state)
        keys = ["source", "practitioner"]
        await _upsert(self._conn, "states", [row], keys, [c for c in row if c not in keys])


class SqlCalendarsUnitOfWork(UnitOfWork):
    busy = on_connection(SqlBusyStore)
    states = on_connection(SqlSyncStates)
