"""The delivery log, for the API: deliveries newest first, each with its attempts in order
(one query for all of them). No secret is ever read here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.webhooks.commands import DeliveryFilter
from clinicflow.webhooks.tables import attempts, deliveries
from clinicflow.webhooks.views import AttemptView, DeliveryView

d = deliveries.c


class SqlDeliveryLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def deliveries(self, where: DeliveryFilter) -> list[DeliveryView]:
        query = select(deliveries).order_by(d.created_at.desc(), d.id.desc())
        if where.subscription_id is not None:
            query = query.where(d.subscription_id == where.subscription_id)
        if where.status is not None:
            query = query.where(d.status == where.status)
        if where.event_id is not None:
            query = query.where(d.event_id == where.event_id)
        if where.delivery_id is not None:
            query = query.where(d.id == where.delivery_id)
        rows = list((await self._conn.execute(query.limit(where.limit))).mappings())
        log = await self._attempts_of([r["id"] for r in rows])
        return [_delivery_view(r, log.get(r["id"], [])) for r in rows]

    async def _attempts_of(self, delivery_ids: Sequence[str]) -> dict[str, list[AttemptView]]:
        found: dict[str, list[AttemptView]] = {}
        if not delivery_ids:
            return found
        query = (
            select(attempts)
            .where(attempts.c.delivery_id.in_(delivery_ids))
            .order_by(attempts.c.delivery_id, attempts.c.number, attempts.c.at)
        )
        for a in (await self._conn.execute(query)).mappings():
            found.setdefault(a["delivery_id"], []).append(
                AttemptView(a["number"], a["at"], a["status_code"], a["error"], a["duration_ms"])
            )
        return found


def _delivery_view(row: RowMapping, log: list[AttemptView]) -> DeliveryView:
    return DeliveryView(
        id=row["id"],
        subscription_id=row["subscription_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        status=row["status"],
        attempt_count=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        attempts=log,
    )
