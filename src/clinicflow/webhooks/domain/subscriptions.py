"""A webhook subscription as kept: where to send, which events, whether it is active. Its
secrets are never part of it (they are read sealed, only to sign or to rotate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.webhooks.domain.rules import matches

CHANGEABLE = frozenset({"url", "event_types", "active", "description"})


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    url: str
    event_types: tuple[str, ...]  # sorted type names, or ("*",)
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    previous_secret_expires_at: datetime | None  # the old secret signs until then

    def wants(self, event_type: str) -> bool:
        """Whether it asked for this type (active or not: the caller reads the active ones)."""
        return matches(self.event_types, event_type)
