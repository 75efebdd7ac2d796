"""The stored Idempotency-Keys, as the use cases see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RequestKey:
    operation: str  # checkout | refund
    request_hash: str
    order_id: str
    locked_until: datetime | None


class RequestKeys(Protocol):
    async def find(self, scope: str, key: str) -> RequestKey | None:
        """The key, locked for this transaction (a duplicate waits here on PostgreSQL)."""
        ...

    async def add(self, scope: str, key: str, found: RequestKey, now: datetime) -> None:
        """`AlreadyStored` when a request with the same key stored it first."""
        ...

    async def lock(self, scope: str, key: str, until: datetime | None) -> None:
        """Claims the key until `until` (None: releases it)."""
        ...
