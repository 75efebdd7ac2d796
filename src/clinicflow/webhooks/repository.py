"""Write-side queries: deliveries inserted idempotently per (subscription, event), claimed
before each attempt so two workers never send the same attempt, and attempts recorded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.webhooks.tables import attempts, deliveries, subscriptions


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker may attempt now: no other can until `until`."""

    delivery_id: str
    event_id: str
    event_type: str
    body: str
    attempts: int  # made before this one
    until: datetime
    url: str
    subscription_id: str  # the row its secrets are sealed to
    secret_enc: str
    previous_secret_enc: str | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Result:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    status: str  # the delivery's status after it: pending|delivered|failed
    next_attempt_at: datetime | None


async def active_subscriptions(conn: AsyncConnection) -> list[Any]:
    query = select(subscriptions).where(subscriptions.c.active.is_(True))
    return list((await conn.execute(query.order_by(subscriptions.c.id))).all())


async def insert_deliveries(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(deliveries).on_conflict_do_nothing(
        index_elements=["subscription_id", "event_id"]
    )
    await conn.execute(statement, list(rows))


def delivery_row(
    subscription_id: str, event_id: str, event_type: str, body: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "subscription_id": subscription_id,
        "event_id": event_id,
        "event_type": event_type,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_status_code": None,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
    }


def _claimable() -> Select[Any]:
    return select(
        deliveries.c.id,
        deliveries.c.event_id,
        deliveries.c.event_type,
        deliveries.c.body,
        deliveries.c.attempts,
        deliveries.c.next_attempt_at,
        subscriptions.c.url,
        subscriptions.c.id.label("subscription_id"),
        subscriptions.c.secret_enc,
        subscriptions.c.previous_secret_enc,
        subscriptions.c.previous_secret_expires_at,
    ).join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)


async def claim_due(
    conn: AsyncConnection,
    now: datetime,
    until: datetime,
    limit: int,
    event_id: str | None = None,
) -> list[Claim]:
    """Pending deliveries of active subscriptions due at `now`, pushed ahead to `until` (the
    lease: a worker that dies mid-attempt leaves them due again then). PostgreSQL skips rows
    another worker has locked; the compare-and-set update makes a claim exclusive on SQLite
    (and anywhere) too."""
    query = _claimable().where(
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= now,
        subscriptions.c.active.is_(True),
    )
    if event_id is not None:
        query = query.where(deliveries.c.event_id == event_id)
    query = query.order_by(deliveries.c.next_attempt_at, deliveries.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=deliveries, skip_locked=True)
    claimed: list[Claim] = []
    for row in (await conn.execute(query)).all():
        taken = await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id == row.id,
                deliveries.c.status == "pending",
                deliveries.c.attempts == row.attempts,
                deliveries.c.next_attempt_at == row.next_attempt_at,
            )
            .values(next_attempt_at=until, updated_at=now)
        )
        if taken.rowcount == 1:
            claimed.append(_claim(row, until))
    return claimed


async def claim_failed(
    conn: AsyncConnection, delivery_id: str, now: datetime, until: datetime
) -> Claim | None:
    """A given-up delivery, taken back for one more attempt (an administrator's retry)."""
    taken = await conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == "failed")
        .values(status="pending", next_attempt_at=until, updated_at=now)
    )
    if taken.rowcount != 1:
        return None
    row = (await conn.execute(_claimable().where(deliveries.c.id == delivery_id))).one()
    return _claim(row, until)


def _claim(row: Any, until: datetime) -> Claim:
    return Claim(
        delivery_id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.body,
        attempts=row.attempts,
        until=until,
        url=row.url,
        subscription_id=row.subscription_id,
        secret_enc=row.secret_enc,
        previous_secret_enc=row.previous_secret_enc,
        previous_secret_expires_at=row.previous_secret_expires_at,
    )


async def record(conn: AsyncConnection, claim: Claim, result: Result) -> bool:
    """Log the attempt and move the delivery on. False when the claim was lost meanwhile (its
    lease ran out and another worker took it): the attempt is still logged, as it was made."""
    number = claim.attempts + 1
    await conn.execute(
        attempts.insert().values(
            id=str(uuid.uuid4()),
            delivery_id=claim.delivery_id,
            number=number,
            at=result.at,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
        )
    )
    moved = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == claim.delivery_id,
            deliveries.c.attempts == claim.attempts,
            deliveries.c.status == "pending",
        )
        .values(
            attempts=number,
            status=result.status,
            next_attempt_at=result.next_attempt_at,
            last_status_code=result.status_code,
            last_error=result.error,
            updated_at=result.at,
        )
    )
    return bool(moved.rowcount == 1)
