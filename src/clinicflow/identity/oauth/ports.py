"""The signing keys' repository, as the use cases see it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.identity.oauth.domain.jwt_keys import SealedSigningKey


class SigningKeyRepository(Protocol):
    async def published(self) -> list[SealedSigningKey]:
        """The unretired keys, oldest first."""

    async def add(self, key: SealedSigningKey) -> None: ...

    async def retire(self, kid: str, now: datetime) -> None: ...
