"""What the patient context needs from outside."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


class BookingReassigner(Protocol):
    """Moves every booking of one patient record to another (for merges), in the caller's
    transaction; returns how many moved."""

    async def reassign(self, conn: AsyncConnection, source_id: str, target_id: str) -> int: ...
