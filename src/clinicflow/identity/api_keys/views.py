"""What the API-key use cases answer: a key as staff may see it (never its secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.identity.api_keys.domain.keys import ApiKey
from clinicflow.shared.records import from_attributes


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
        return from_attributes(cls, key)
