"""The feeds' unit of work: the tokens (`calendars_feed_token`), and booking's visits read on
the same connection (bootstrap gives how to read them: calendars may not import booking)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.calendars.feeds.ports import FeedBookings
from clinicflow.calendars.feeds.tables import feed_tokens
from clinicflow.infra.db import upsert
from clinicflow.infra.unit_of_work import OnConnection, UnitOfWork, on_connection

if TYPE_CHECKING:
    from clinicflow.infra.db import Database

ft = feed_tokens.c
BookingsOn = Callable[[AsyncConnection], FeedBookings]


class SqlFeedTokens:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def digest(self, practitioner: str) -> str | None:
        query = select(ft.token_digest).where(ft.practitioner == practitioner)
        found = (await self._conn.execute(query)).scalar_one_or_none()
        return None if found is None else str(found)

    async def put(self, practitioner: str, digest: str, now: datetime) -> bool:
        replaced = await self.digest(practitioner) is not None
        row = {"practitioner": practitioner, "token_digest": digest, "created_at": now}
        changed = {"token_digest": digest, "created_at": now}
        # An upsert, so two issues at once both succeed (the later one's token wins).
        await upsert(self._conn, feed_tokens, row, ["practitioner"], changed)
        return replaced

    async def remove(self, practitioner: str) -> bool:
        gone = await self._conn.execute(delete(feed_tokens).where(ft.practitioner == practitioner))
        return bool(gone.rowcount)


class SqlFeedsUnitOfWork(UnitOfWork):
    """`bookings(conn)`: booking's visits read on this transaction's connection."""

    def __init__(self, db: Database, *, write: bool = True, bookings: BookingsOn) -> None:
        super().__init__(db, write=write)
        self._bookings_on = bookings

    def _bookings(self, conn: AsyncConnection) -> FeedBookings:
        return self._bookings_on(conn)

    tokens = on_connection(SqlFeedTokens)
    bookings = OnConnection(_bookings)
