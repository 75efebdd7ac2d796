"""Signing keys in SQL: rows in, frozen `SealedSigningKey`s out (unsealed by the service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.identity.oauth.domain.jwt_keys import SealedSigningKey
from clinicflow.identity.tables import signing_keys
from clinicflow.infra.columns import stored

_k = signing_keys.c
_PUBLISHED = select(signing_keys).where(_k.retired_at.is_(None)).order_by(_k.created_at, _k.kid)


class SqlSigningKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def published(self) -> list[SealedSigningKey]:
        return [
            SealedSigningKey(
                r.kid, r.algorithm, r.private_key_enc, dict(r.public_jwk), r.created_at
            )
            for r in await self._conn.execute(_PUBLISHED)
        ]

    async def add(self, key: SealedSigningKey) -> None:
        await self._conn.execute(insert(signing_keys).values(stored(signing_keys, key)))

    async def retire(self, kid: str, now: datetime) -> None:
        await self._conn.execute(update(signing_keys).where(_k.kid == kid).values(retired_at=now))
