"""What the API-key use cases answer: a key as staff may see it (never its secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.identity.api_keys.domain.keys import ApiKey


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    id: str
    name: str
    owner: str
    scopes: tuple[str, ...]
    tier: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None or self.revoked_at > now

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyView:
        return cls(
            key.id,
            key.name,
            key.owner,
            key.scopes,
            key.tier,
            key.created_at,
            key.last_used_at,
            key.revoked_at,
            key.replaced_by,
        )
