"""Idempotency-Keys in SQL (`payments_request_key`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.payments.idempotency_keys.ports import RequestKey
from clinicflow.payments.ports import AlreadyStored
from clinicflow.payments.tables import request_keys

k = request_keys.c


class SqlRequestKeys:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def find(self, scope: str, key: str) -> RequestKey | None:
        query = select(request_keys).where(k.scope == scope, k.key == key).with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return RequestKey(row.operation, row.request_hash, row.order_id, row.locked_until)

    async def add(self, scope: str, key: str, found: RequestKey, now: datetime) -> None:
        statement = insert(request_keys).values(
            scope=scope,
            key=key,
            operation=found.operation,
            request_hash=found.request_hash,
            order_id=found.order_id,
            locked_until=found.locked_until,
            created_at=now,
        )
        try:
            await self._conn.execute(statement)
        except IntegrityError as exc:
            raise AlreadyStored(str(exc.orig)) from exc

    async def lock(self, scope: str, key: str, until: datetime | None) -> None:
        await self._conn.execute(
            update(request_keys).where(k.scope == scope, k.key == key).values(locked_until=until)
        )
