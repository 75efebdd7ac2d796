"""The SMART unit of work: clients, spent assertion ids and issued tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from clinicflow.fhir.smart.tables import fhir_assertions, fhir_clients, fhir_tokens
from clinicflow.fhir.smart.views import SmartClient, TokenGrant
from clinicflow.infra.unit_of_work import UnitOfWork, on_connection

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

fc, fa, ft = fhir_clients.c, fhir_assertions.c, fhir_tokens.c


def _client(row: RowMapping) -> SmartClient:
    return SmartClient(
        id=row["id"],
        name=row["name"],
        jwks_url=row["jwks_url"],
        jwks=row["jwks"],
        scopes=tuple(str(row["scopes"]).split()),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


class SqlSmartClients:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, client: SmartClient) -> None:
        await self._conn.execute(
            fhir_clients.insert().values(
                id=client.id,
                name=client.name,
                jwks_url=client.jwks_url,
                jwks=client.jwks,
                scopes=" ".join(client.scopes),
                created_at=client.created_at,
                revoked_at=client.revoked_at,
            )
        )

    async def get(self, client_id: str) -> SmartClient | None:
        row = (
            (await self._conn.execute(select(fhir_clients).where(fc.id == client_id)))
            .mappings()
            .first()
        )
        return None if row is None else _client(row)

    async def listed(self) -> list[SmartClient]:
        rows = await self._conn.execute(select(fhir_clients).order_by(fc.created_at, fc.id))
        return [_client(r) for r in rows.mappings()]

    async def revoke(self, client_id: str, now: datetime) -> bool:
        done = await self._conn.execute(
            update(fhir_clients)
            .where(fc.id == client_id, fc.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(done.rowcount)


class SqlSpentAssertions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def spend(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        row = {"client_id": client_id, "jti": jti, "expires_at": expires_at}
        # The primary key decides between two requests racing with one assertion.
        if self._conn.dialect.name == "postgresql":
            pg = postgresql.insert(fhir_assertions).values(row).on_conflict_do_nothing()
            done = await self._conn.execute(pg)
        else:
            lite = sqlite.insert(fhir_assertions).values(row).on_conflict_do_nothing()
            done = await self._conn.execute(lite)
        return bool(done.rowcount)


class SqlAccessTokens:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, digest: str, grant: TokenGrant) -> None:
        await self._conn.execute(
            fhir_tokens.insert().values(
                digest=digest,
                client_id=grant.client_id,
                scopes=" ".join(grant.scopes),
                expires_at=grant.expires_at,
            )
        )

    async def find(self, digest: str) -> TokenGrant | None:
        query = select(ft.client_id, ft.scopes, ft.expires_at).where(ft.digest == digest)
        row = (await self._conn.execute(query)).mappings().first()
        if row is None:
            return None
        return TokenGrant(row["client_id"], tuple(str(row["scopes"]).split()), row["expires_at"])


class SqlSmartUnitOfWork(UnitOfWork):
    clients = on_connection(SqlSmartClients)
    assertions = on_connection(SqlSpentAssertions)
    tokens = on_connection(SqlAccessTokens)
