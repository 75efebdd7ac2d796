"""Entries in SQL: finding a repeat join, adding, loading for change, status moves, the
records launch waves, offers and nurture add to (engagement, stage times), the queue a
service's standings are computed from, and deleting withdrawn entries with everything that
hangs off them (retention, `waitlist.jobs`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.waitlist.domain.entry import Entry, NewEntry, Placement
from clinicflow.waitlist.domain.scoring import Engagement
from clinicflow.waitlist.domain.standing import Engagements, Queued
from clinicflow.waitlist.domain.states import ENGAGEMENT_KINDS, OPEN, QUEUED, STAGES, Status
from clinicflow.waitlist.entries.ports import AlreadyListed, EntryChanges
from clinicflow.waitlist.tables import engagements, entries, invitations, nurtures, offers

_OPEN = sorted(s.value for s in OPEN)
_QUEUED = sorted(s.value for s in QUEUED)
e = entries.c
_SCORED = (e.id, e.joined_at, e.interest_level, e.distance_mi)


CHUNK = 500  # ids per DELETE ... IN (...)


def entry_of(row: RowMapping) -> Entry:
    return Entry(**row)


class SqlEntries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def find_open(
        self, service: str, email_bidx: str | None, phone_bidx: str | None
    ) -> Entry | None:
        if email_bidx:
            match = e.email_bidx == email_bidx
        elif phone_bidx:
            match = e.phone_bidx == phone_bidx
        else:
            return None
        query = (
            select(entries)
            .where(e.service == service, e.status.in_(_OPEN), match)
            .order_by(e.joined_at, e.id)
            .limit(1)
        )
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else entry_of(row)

    async def of_person(
        self, patient_id: str, email_bidx: str | None, phone_bidx: str | None
    ) -> list[Entry]:
        theirs: list[ColumnElement[bool]] = [e.patient_id == patient_id]
        if email_bidx:
            theirs.append(and_(e.email_bidx == email_bidx, e.patient_id.is_(None)))
        elif phone_bidx:
            theirs.append(and_(e.phone_bidx == phone_bidx, e.patient_id.is_(None)))
        query = select(entries).where(or_(*theirs)).order_by(e.joined_at.desc(), e.id)
        return [entry_of(r) for r in (await self._conn.execute(query)).mappings()]

    async def get(self, entry_id: str, *, lock: bool = False) -> Entry | None:
        return await self._one(e.id == entry_id, lock)

    async def by_token(self, token_hash: str, *, lock: bool = False) -> Entry | None:
        return await self._one(e.token_hash == token_hash, lock)

    async def _one(self, clause: ColumnElement[bool], lock: bool) -> Entry | None:
        query = select(entries).where(clause)
        if lock:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else entry_of(row)

    async def add(self, new: NewEntry, token_hash: str) -> Entry:
        values = asdict(new) | {"token_hash": token_hash}
        try:
            row = (
                (await self._conn.execute(insert(entries).values(values).returning(entries)))
                .mappings()
                .one()
            )
        except IntegrityError as exc:
            raise AlreadyListed(new.service) from exc
        return entry_of(row)

    async def change(self, entry: Entry, values: EntryChanges, now: datetime) -> None:
        changed: dict[str, object] = dict(values)
        if "status" in values and values["status"] != entry.status:
            changed["status_at"] = now
        await self._conn.execute(
            update(entries)
            .where(e.id == entry.id)
            .values(**changed, updated_at=now, version=entry.version + 1)
        )

    async def move(
        self, entry_id: str, from_: Collection[str], to: Status, now: datetime
    ) -> Entry | None:
        return await self._move(entry_id, from_, to, now, {})

    async def place(
        self, entry_id: str, from_: Collection[str], placed: Placement, now: datetime
    ) -> Entry | None:
        values = {"patient_id": placed.patient_id, "booking_id": placed.booking_id}
        return await self._move(entry_id, from_, Status.BOOKED, now, values)

    async def _move(
        self,
        entry_id: str,
        from_: Collection[str],
        to: Status,
        now: datetime,
        values: dict[str, str | None],
    ) -> Entry | None:
        result = await self._conn.execute(
            update(entries)
            .where(e.id == entry_id, e.status.in_(list(from_)))
            .values(status=to.value, status_at=now, updated_at=now, version=e.version + 1, **values)
            .returning(entries)
        )
        row = result.mappings().first()
        return None if row is None else entry_of(row)

    async def add_engagement(
        self, entry_id: str, kind: str, at: datetime, ref: str | None = None
    ) -> bool:
        if kind not in ENGAGEMENT_KINDS:
            raise ValueError(f"engagement kind {kind!r} is not one of {ENGAGEMENT_KINDS}")
        row = {"entry_id": entry_id, "kind": kind, "at": at, "ref": ref}
        return await insert_ignoring_duplicates(self._conn, engagements, [row]) == 1

    async def stamp(self, entry_id: str, stage: str, at: datetime) -> bool:
        if stage not in STAGES:
            raise ValueError(f"stage {stage!r} is not one of {STAGES}")
        column = entries.c[f"{stage}_at"]
        result = await self._conn.execute(
            update(entries)
            .where(and_(e.id == entry_id, column.is_(None)))
            .values({column: at, e.updated_at: at})
        )
        return bool(result.rowcount)

    async def queue(self, service: str, now: datetime) -> tuple[list[Queued], Engagements]:
        where = (e.service == service, e.status.in_(_QUEUED))
        rows = (await self._conn.execute(select(*_SCORED).where(*where))).mappings()
        queued = [Queued(**r) for r in rows]
        joined = engagements.join(entries, engagements.c.entry_id == e.id)
        found = await self._conn.execute(
            select(engagements.c.entry_id, engagements.c.kind, engagements.c.at)
            .select_from(joined)
            .where(*where, engagements.c.at <= now)
        )
        return queued, _grouped(found.mappings())

    async def engagements_of(self, entry_id: str, now: datetime) -> tuple[Engagement, ...]:
        found = await self._conn.execute(
            select(engagements.c.entry_id, engagements.c.kind, engagements.c.at).where(
                engagements.c.entry_id == entry_id, engagements.c.at <= now
            )
        )
        return _grouped(found.mappings()).get(entry_id, ())

    async def listed(self, service: str | None, status: str | None) -> list[Entry]:
        query = select(entries)
        if service is not None:
            query = query.where(e.service == service)
        if status is not None:
            query = query.where(e.status == status)
        found = await self._conn.execute(query.order_by(e.service, e.joined_at, e.id))
        return [entry_of(r) for r in found.mappings()]

    async def withdrawn_before(self, at: datetime) -> list[str]:
        query = select(e.id).where(_withdrawn_before(at)).order_by(e.status_at, e.id)
        return [str(i) for i in (await self._conn.execute(query)).scalars()]

    async def delete_withdrawn_before(self, at: datetime) -> list[str]:
        query = (
            select(e.id).where(_withdrawn_before(at)).order_by(e.status_at, e.id).with_for_update()
        )
        ids = [str(i) for i in (await self._conn.execute(query)).scalars()]
        for chunk in (ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)):
            for child in (engagements, invitations, offers, nurtures):
                await self._conn.execute(delete(child).where(child.c.entry_id.in_(chunk)))
            await self._conn.execute(delete(entries).where(e.id.in_(chunk)))
        return ids

    async def converted_by(self, booking_ids: Sequence[str]) -> list[str]:
        if not booking_ids:
            return []
        found = await self._conn.execute(select(e.id).where(e.booking_id.in_(list(booking_ids))))
        return [str(i) for i in found.scalars()]


def _withdrawn_before(at: datetime) -> ColumnElement[bool]:
    return and_(e.status == Status.WITHDRAWN.value, e.status_at < at)


def _grouped(events: Iterable[RowMapping]) -> dict[str, tuple[Engagement, ...]]:
    grouped: dict[str, list[Engagement]] = defaultdict(list)
    for event in events:
        grouped[event["entry_id"]].append(Engagement(event["kind"], event["at"]))
    return {k: tuple(v) for k, v in grouped.items()}
