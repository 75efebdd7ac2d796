"""What checkout keeps beside the order: the uses of promotion codes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.payments.domain import PromoUsage


class PromoUses(Protocol):
    async def usage(self, code: str, patient_id: str | None) -> PromoUsage:
        """How often the code was used, in all and by this patient."""
        ...

    async def record(self, code: str, patient_id: str, order_id: str, now: datetime) -> None: ...

    async def release(self, order_id: str) -> None:
        """A code reserved by an order that was never paid is free again."""
        ...
