"""The API keys' repository, as the use cases see it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.identity.api_keys.domain.keys import ApiKey


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def get(self, key_id: str) -> ApiKey | None: ...

    async def all(self) -> list[ApiKey]:
        """Oldest first."""

    async def revoke(self, key_id: str, at: datetime) -> None:
        """Revoked at `at` (which may lie ahead), unless it already is by then."""

    async def replace(self, key_id: str, by: str) -> None:
        """The key was rotated: `by` is its successor."""

    async def touch(self, key_id: str, now: datetime) -> None:
        """Used now."""
