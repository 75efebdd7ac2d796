"""Reading subscriptions and the delivery log, for the API. No secret is ever read here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.webhooks.tables import attempts, deliveries, subscriptions


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    previous_secret_expires_at: datetime | None  # the old secret still signs until then


@dataclass(frozen=True, slots=True)
class AttemptView:
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    attempts: list[AttemptView]


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    subscription_id: str | None = None
    status: str | None = None
    event_id: str | None = None
    limit: int = 100
    delivery_id: str | None = None


def subscription_view(row: Any, now: datetime) -> SubscriptionView:
    expires = row.previous_secret_expires_at
    return SubscriptionView(
        id=row.id,
        url=row.url,
        event_types=list(row.event_types),
        description=row.description,
        active=bool(row.active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        previous_secret_expires_at=expires if expires is not None and expires > now else None,
    )


async def subscription_row(conn: AsyncConnection, subscription_id: str) -> Any:
    query = select(subscriptions).where(subscriptions.c.id == subscription_id)
    return (await conn.execute(query)).first()


async def subscription_rows(conn: AsyncConnection) -> list[Any]:
    query = select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id)
    return list((await conn.execute(query)).all())


async def delivery_views(conn: AsyncConnection, where: DeliveryFilter) -> list[DeliveryView]:
    """Newest first, each with its attempts in order (one query for all of them)."""
    query = select(deliveries).order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
    if where.subscription_id is not None:
        query = query.where(deliveries.c.subscription_id == where.subscription_id)
    if where.status is not None:
        query = query.where(deliveries.c.status == where.status)
    if where.event_id is not None:
        query = query.where(deliveries.c.event_id == where.event_id)
    if where.delivery_id is not None:
        query = query.where(deliveries.c.id == where.delivery_id)
    rows = list((await conn.execute(query.limit(where.limit))).all())
    log = await _attempts_of(conn, [r.id for r in rows])
    return [_delivery_view(r, log.get(r.id, [])) for r in rows]


async def _attempts_of(
    conn: AsyncConnection, delivery_ids: Sequence[str]
) -> dict[str, list[AttemptView]]:
    found: dict[str, list[AttemptView]] = {}
    if not delivery_ids:
        return found
    query = (
        select(attempts)
        .where(attempts.c.delivery_id.in_(delivery_ids))
        .order_by(attempts.c.delivery_id, attempts.c.number, attempts.c.at)
    )
    for a in (await conn.execute(query)).all():
        found.setdefault(a.delivery_id, []).append(
            AttemptView(a.number, a.at, a.status_code, a.error, a.duration_ms)
        )
    return found


def _delivery_view(row: Any, log: list[AttemptView]) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempt_count=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        attempts=log,
    )
