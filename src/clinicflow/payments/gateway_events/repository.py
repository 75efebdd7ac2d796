"""Gateway webhook deliveries in SQL (`payments_webhook_event`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.payments.ports import GatewayEvent
from clinicflow.payments.tables import webhook_events

we = webhook_events.c


class SqlWebhookEvents:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def remember(self, event: GatewayEvent, now: datetime) -> bool:
        row = {
            "provider": event.provider,
            "event_id": event.event_id[:100],
            "type": event.type,
            "raw_type": event.raw_type[:80],
            "order_id": None,
            "outcome": "received",
            "received_at": now,
        }
        return await insert_ignoring_duplicates(self._conn, webhook_events, [row]) == 1

    async def outcome(self, event: GatewayEvent, outcome: str, order_id: str | None) -> None:
        await self._conn.execute(
            update(webhook_events)
            .where(we.provider == event.provider, we.event_id == event.event_id[:100])
            .values(outcome=outcome[:40], order_id=order_id)
        )
