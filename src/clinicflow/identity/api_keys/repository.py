"""API keys in SQL: rows in, frozen `ApiKey`s out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.api_keys.domain.keys import ApiKey
from clinicflow.identity.tables import api_keys
from clinicflow.infra.columns import stored
from clinicflow.shared.records import from_attributes

_k = api_keys.c


def _key(row: Row[tuple[object, ...]]) -> ApiKey:
    return from_attributes(ApiKey, row, scopes=tuple(row.scopes))


class SqlApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey) -> None:
        await self._conn.execute(insert(api_keys).values(stored(api_keys, key)))

    async def get(self, key_id: str) -> ApiKey | None:
        row = (await self._conn.execute(select(api_keys).where(_k.id == key_id))).first()
        return None if row is None else _key(row)

    async def all(self) -> list[ApiKey]:
        return [_key(r) for r in await self._conn.execute(select(api_keys).order_by(_k.created_at))]

    async def revoke(self, key_id: str, at: datetime) -> None:
        await self._conn.execute(
            update(api_keys)
            .where(_k.id == key_id, or_(_k.revoked_at.is_(None), _k.revoked_at > at))
            .values(revoked_at=at)
        )

    async def replace(self, key_id: str, by: str) -> None:
        await self._conn.execute(update(api_keys).where(_k.id == key_id).values(replaced_by=by))

    async def touch(self, key_id: str, now: datetime) -> None:
        await self._conn.execute(update(api_keys).where(_k.id == key_id).values(last_used_at=now))
