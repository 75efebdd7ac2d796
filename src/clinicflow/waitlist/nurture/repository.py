"""Nurture messages in SQL."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.waitlist.domain.entry import Entry
from clinicflow.waitlist.domain.links import NurtureMessage
from clinicflow.waitlist.tables import entries, nurtures

n, e = nurtures.c, entries.c


class SqlNurtures:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def due(self, before: datetime, limit: int) -> list[tuple[Entry, int]]:
        last = (
            select(n.entry_id, func.max(n.sent_at).label("last"), func.count().label("sent"))
            .group_by(n.entry_id)
            .subquery()
        )
        since = func.coalesce(last.c["last"], e.joined_at)
        query = (
            select(entries, func.coalesce(last.c.sent, 0).label("sent_count"))
            .select_from(entries.outerjoin(last, last.c.entry_id == e.id))
            .where(e.status == "waiting", since <= before)
            .order_by(e.joined_at, e.id)
            .limit(limit)
        )
        found: list[tuple[Entry, int]] = []
        for row in (await self._conn.execute(query)).mappings():
            values = dict(row)
            sent = int(values.pop("sent_count"))
            found.append((Entry(**values), sent))
        return found

    async def add(self, entry_id: str, seq: int, token_hash: str, now: datetime) -> str | None:
        message_id = str(uuid.uuid4())
        row = {
            "id": message_id,
            "entry_id": entry_id,
            "seq": seq,
            "token_hash": token_hash,
            "sent_at": now,
        }
        added = await insert_ignoring_duplicates(self._conn, nurtures, [row]) == 1
        return message_id if added else None

    async def by_token(self, token_hash: str, *, lock: bool = False) -> NurtureMessage | None:
        query = select(nurtures).where(n.token_hash == token_hash)
        if lock:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else NurtureMessage(**row)

    async def mark_clicked(self, message_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(nurtures)
            .where(n.id == message_id, n.clicked_at.is_(None))
            .values(clicked_at=now)
        )
