"""What invitations' and offers' rows share in SQL (`conversions.ports.LinkRepository`)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Generic

from sqlalchemy import Column, Executable, RowMapping, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from clinicflow.waitlist.conversions.ports import R


class SqlLinks(Generic[R]):
    """`table`'s rows, each made into a link (a frozen dataclass) by `row`."""

    def __init__(
        self,
        conn: AsyncConnection,
        table: Table[ReadOnlyColumnCollection[str, Column[object]]],  # bare: Column[Any]
        row: Callable[[RowMapping], R],
    ) -> None:
        self._conn = conn
        self._table = table
        self._row: Callable[[RowMapping], R] = row

    async def by_token(self, token_hash: str, *, lock: bool = False) -> R | None:
        query = select(self._table).where(self._table.c.token_hash == token_hash)
        if lock:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else self._row(row)

    async def set_status(
        self, row_id: str, /, from_: Collection[str], to: str, now: datetime
    ) -> bool:
        return await self._move(row_id, from_, {"status": to, "status_at": now})

    async def set_claimed(
        self, row_id: str, /, from_: Collection[str], booking_id: str, now: datetime
    ) -> bool:
        claimed = {"status": "claimed", "status_at": now, "booking_id": booking_id}
        return await self._move(row_id, from_, claimed)

    async def _move(self, row_id: str, from_: Collection[str], values: dict[str, object]) -> bool:
        c = self._table.c
        result = await self._conn.execute(
            update(self._table).where(c.id == row_id, c.status.in_(list(from_))).values(values)
        )
        return bool(result.rowcount)

    async def stale_claims(self, before: datetime, limit: int) -> list[R]:
        c = self._table.c
        return await self._all(
            select(self._table).where(c.status == "claiming", c.status_at <= before).limit(limit)
        )

    async def _all(self, query: Executable) -> list[R]:
        return [self._row(r) for r in (await self._conn.execute(query)).mappings()]
