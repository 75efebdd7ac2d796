"""The webhooks' unit of work and its repositories: SQL in, frozen dataclasses out.
Deliveries are inserted idempotently per (subscription, event), claimed before each attempt
so two workers never send the same attempt, and attempts recorded."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.unit_of_work import UnitOfWork, on_connection
from clinicflow.webhooks.commands import NewSubscription, Outgoing
from clinicflow.webhooks.domain.deliveries import Claim, Outcome
from clinicflow.webhooks.domain.subscriptions import Subscription
from clinicflow.webhooks.queries import SqlDeliveryLog
from clinicflow.webhooks.tables import attempts, deliveries, subscriptions

s = subscriptions.c
d = deliveries.c

# What a worker needs to attempt a delivery: the delivery, where to, and the sealed secrets.
_CLAIMABLE = select(
    d.id,
    d.event_id,
    d.event_type,
    d.body,
    d.attempts,
    d.next_attempt_at,
    s.url,
    s.id.label("subscription_id"),
    s.secret_enc,
    s.previous_secret_enc,
    s.previous_secret_expires_at,
).join(subscriptions, s.id == d.subscription_id)


def subscription_of(row: RowMapping) -> Subscription:
    return Subscription(
        id=row["id"],
        url=row["url"],
        event_types=tuple(row["event_types"]),
        description=row["description"],
        active=bool(row["active"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        previous_secret_expires_at=row["previous_secret_expires_at"],
    )


# Every column but the secrets: they are read only to sign (a claim) or to rotate.
_SUBSCRIPTION = select(*(col for col in s if col.name not in ("secret_enc", "previous_secret_enc")))


class SqlSubscriptions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def active(self) -> list[Subscription]:
        query = _SUBSCRIPTION.where(s.active.is_(True)).order_by(s.id)
        return [subscription_of(r) for r in (await self._conn.execute(query)).mappings()]

    async def get(self, subscription_id: str) -> Subscription | None:
        query = _SUBSCRIPTION.where(s.id == subscription_id)
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else subscription_of(row)

    async def listed(self) -> list[Subscription]:
        query = _SUBSCRIPTION.order_by(s.created_at, s.id)
        return [subscription_of(r) for r in (await self._conn.execute(query)).mappings()]

    async def add(self, new: NewSubscription, now: datetime) -> None:
        await self._conn.execute(
            subscriptions.insert().values(
                id=new.id,
                secret_enc=new.secret_enc,
                active=True,
                created_at=now,
                updated_at=now,
                created_by=new.created_by,
                **new.values,
            )
        )

    async def change(
        self, subscription_id: str, values: Mapping[str, object], now: datetime
    ) -> bool:
        changed = await self._conn.execute(
            update(subscriptions).where(s.id == subscription_id).values(updated_at=now, **values)
        )
        return int(changed.rowcount) == 1

    async def sealed_secret(self, subscription_id: str) -> str | None:
        query = select(s.secret_enc).where(s.id == subscription_id)
        found: str | None = (await self._conn.execute(query)).scalar_one_or_none()
        return found

    async def delete(self, subscription_id: str) -> bool:
        gone = await self._conn.execute(delete(subscriptions).where(s.id == subscription_id))
        return int(gone.rowcount) == 1


class SqlDeliveries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, subscription_ids: Sequence[str], event: Outgoing, now: datetime) -> None:
        if not subscription_ids:
            return
        rows = [
            {
                "id": str(uuid.uuid4()),
                "subscription_id": subscription_id,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "body": event.body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "last_status_code": None,
                "last_error": None,
                "created_at": now,
                "updated_at": now,
            }
            for subscription_id in subscription_ids
        ]
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(deliveries).on_conflict_do_nothing(
            index_elements=["subscription_id", "event_id"]
        )
        await self._conn.execute(statement, rows)

    async def claim_due(
        self, now: datetime, until: datetime, limit: int, event_id: str | None = None
    ) -> list[Claim]:
        """PostgreSQL skips rows another worker has locked; the compare-and-set update makes
        a claim exclusive on SQLite (and anywhere) too."""
        query = _CLAIMABLE.where(
            d.status == "pending", d.next_attempt_at <= now, s.active.is_(True)
        )
        if event_id is not None:
            query = query.where(d.event_id == event_id)
        query = query.order_by(d.next_attempt_at, d.id).limit(limit)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(of=deliveries, skip_locked=True)
        claimed: list[Claim] = []
        for row in (await self._conn.execute(query)).mappings().all():
            taken = await self._conn.execute(
                update(deliveries)
                .where(
                    d.id == row["id"],
                    d.status == "pending",
                    d.attempts == row["attempts"],
                    d.next_attempt_at == row["next_attempt_at"],
                )
                .values(next_attempt_at=until, updated_at=now)
            )
            if taken.rowcount == 1:
                claimed.append(_claim(row, until))
        return claimed

    async def claim_failed(self, delivery_id: str, now: datetime, until: datetime) -> Claim | None:
        taken = await self._conn.execute(
            update(deliveries)
            .where(d.id == delivery_id, d.status == "failed")
            .values(status="pending", next_attempt_at=until, updated_at=now)
        )
        if taken.rowcount != 1:
            return None
        row = (await self._conn.execute(_CLAIMABLE.where(d.id == delivery_id))).mappings().one()
        return _claim(row, until)

    async def record(self, claim: Claim, outcome: Outcome) -> bool:
        number = claim.attempts + 1
        await self._conn.execute(
            attempts.insert().values(
                id=str(uuid.uuid4()),
                delivery_id=claim.delivery_id,
                number=number,
                at=outcome.at,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        moved = await self._conn.execute(
            update(deliveries)
            .where(
                d.id == claim.delivery_id,
                d.attempts == claim.attempts,
                d.status == "pending",
            )
            .values(
                attempts=number,
                status=outcome.status,
                next_attempt_at=outcome.next_attempt_at,
                last_status_code=outcome.status_code,
                last_error=outcome.error,
                updated_at=outcome.at,
            )
        )
        return int(moved.rowcount) == 1


def _claim(row: RowMapping, until: datetime) -> Claim:
    return Claim(
        delivery_id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        body=row["body"],
        attempts=row["attempts"],
        until=until,
        url=row["url"],
        subscription_id=row["subscription_id"],
        secret_enc=row["secret_enc"],
        previous_secret_enc=row["previous_secret_enc"],
        previous_secret_expires_at=row["previous_secret_expires_at"],
    )


class SqlWebhooksUnitOfWork(UnitOfWork):
    subscriptions = on_connection(SqlSubscriptions)
    deliveries = on_connection(SqlDeliveries)
    log = on_connection(SqlDeliveryLog)
