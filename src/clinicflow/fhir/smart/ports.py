"""What the SMART use cases need: their unit of work and its repositories."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.fhir.smart.views import SmartClient, TokenGrant
from clinicflow.infra.unit_of_work import Transaction


class SmartClients(Protocol):
    async def add(self, client: SmartClient) -> None: ...

    async def get(self, client_id: str) -> SmartClient | None: ...

    async def listed(self) -> list[SmartClient]: ...

    async def revoke(self, client_id: str, now: datetime) -> bool: ...


class SpentAssertions(Protocol):
    async def spend(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """False when this client already used `jti`."""
        ...


class AccessTokens(Protocol):
    async def add(self, digest: str, grant: TokenGrant) -> None: ...

    async def find(self, digest: str) -> TokenGrant | None: ...


class SmartUnitOfWork(Transaction, Protocol):
    @property
    def clients(self) -> SmartClients: ...

    @property
    def assertions(self) -> SpentAssertions: ...

    @property
    def tokens(self) -> AccessTokens: ...
