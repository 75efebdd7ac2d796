"""The refunds repository, as the use cases see it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypedDict

from clinicflow.payments.domain.refunds import Refund


class RefundChange(TypedDict, total=False):
    status: str
    provider_refund_id: str | None
    updated_at: datetime


class Refunds(Protocol):
    async def get(self, refund_id: str) -> Refund: ...

    async def by_key(self, key: str) -> Refund | None:
        """The refund started with this gateway idempotency key."""
        ...

    async def by_provider_id(self, provider: str, provider_refund_id: str) -> Refund | None: ...

    async def of_order(self, order_id: str) -> list[Refund]:
        """The order's refunds, oldest first."""
        ...

    async def add(self, refund: Refund) -> None:
        """`AlreadyStored` when a refund with its idempotency key exists."""
        ...

    async def change(self, refund_id: str, change: RefundChange) -> Refund: ...
