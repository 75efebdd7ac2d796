"""The write side: finding a duplicate, inserting, loading for change, updating, and the
records launch waves, offers and nurture will add to (engagement, stage times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.waitlist.domain.states import ENGAGEMENT_KINDS, OPEN, STAGES
from clinicflow.waitlist.tables import engagements, entries

_OPEN = sorted(s.value for s in OPEN)


async def find_open(
    conn: AsyncConnection, service: str, email_bidx: str | None, phone_bidx: str | None
) -> Row[Any] | None:
    """The open entry for this service and person. With an email, only the email decides:
    family members often share a phone (the patients' rule too)."""
    e = entries.c
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
    return (await conn.execute(query)).first()


async def load(conn: AsyncConnection, entry_id: str, *, lock: bool = False) -> Row[Any] | None:
    return await _one(conn, entries.c.id == entry_id, lock)


async def load_by_token(
    conn: AsyncConnection, token_hash: str, *, lock: bool = False
) -> Row[Any] | None:
    return await _one(conn, entries.c.token_hash == token_hash, lock)


async def _one(conn: AsyncConnection, clause: Any, lock: bool) -> Row[Any] | None:
    query = select(entries).where(clause)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def change(conn: AsyncConnection, row: Any, values: dict[str, Any], now: datetime) -> None:
    """Update a row loaded (and locked) in this transaction."""
    if "status" in values and values["status"] != row.status:
        values = {**values, "status_at": now}
    await conn.execute(
        update(entries)
        .where(entries.c.id == row.id)
        .values(**values, updated_at=now, version=row.version + 1)
    )


async def add_engagement(
    conn: AsyncConnection, entry_id: str, kind: str, at: datetime, ref: str | None = None
) -> bool:
    """Whether it was new: with a `ref`, a repeated delivery of one event counts once."""
    if kind not in ENGAGEMENT_KINDS:
        raise ValueError(f"engagement kind {kind!r} is not one of {ENGAGEMENT_KINDS}")
    row = {"entry_id": entry_id, "kind": kind, "at": at, "ref": ref}
    return await insert_ignoring_duplicates(conn, engagements, [row]) == 1


async def stamp(conn: AsyncConnection, entry_id: str, stage: str, at: datetime) -> bool:
    """Record when an entry first reached a conversion stage; a later stamp changes nothing."""
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} is not one of {STAGES}")
    column = entries.c[f"{stage}_at"]
    result = await conn.execute(
        update(entries)
        .where(and_(entries.c.id == entry_id, column.is_(None)))
        .values({column: at, entries.c.updated_at: at})
    )
    return bool(result.rowcount)
