"""The deliveries of gateway webhooks, as the use cases see them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clinicflow.payments.ports import GatewayEvent


class WebhookEvents(Protocol):
    async def remember(self, event: GatewayEvent, now: datetime) -> bool:
        """Records a delivery; False when this event was processed before (a redelivery)."""
        ...

    async def outcome(self, event: GatewayEvent, outcome: str, order_id: str | None) -> None: ...
