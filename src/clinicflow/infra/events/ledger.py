"""infra_delivery: what each subscriber owes, its attempts, and when it may try again.

A row is written before a subscriber handles an event (by the in-process transport in the
relay's transaction; by a Redis consumer for the entries it has read, before it handles
them), so "an earlier event of this aggregate is still pending for this subscriber" is a
question the database answers for every worker. Rows survive restarts: retries resume where
they were, and dead letters wait for `clinicflow events dead-letters --replay`.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Row,
    Select,
    String,
    Table,
    Update,
    bindparam,
    exists,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import ScalarSelect

from clinicflow.infra.bus import Published
from clinicflow.infra.columns import instant, uuid_ref
from clinicflow.infra.db import Database, insert_ignoring_duplicates, metadata
from clinicflow.infra.inbox import inbox, mark_handled
from clinicflow.infra.outbox import outbox
from clinicflow.infra.relay import published_from_row
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.shared.clock import Clock

PENDING, DEAD, DONE = "pending", "dead", "done"

deliveries = Table(
    "infra_delivery",
    metadata,
    Column("subscriber", String(64), nullable=False),
    uuid_ref("event_id"),
    Column("seq", Integer, nullable=False),  # the event's outbox id
    Column("event_type", String(64), nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    uuid_ref("aggregate_id"),
    Column("status", String(16), nullable=False),  # pending | dead | done
    Column("attempts", Integer, nullable=False),
    instant("next_attempt_at"),
    Column("last_error", String(128), nullable=True),  # the exception's type: never PHI
    instant("updated_at"),
    PrimaryKeyConstraint("subscriber", "event_id"),
    Index("ix_infra_delivery_due", "subscriber", "status", "next_attempt_at"),
    Index("ix_infra_delivery_aggregate", "subscriber", "aggregate_type", "aggregate_id", "seq"),
)


class State(enum.Enum):
    HANDLED = "handled"  # in the inbox already
    DEAD = "dead"
    NOT_DUE = "not_due"  # backing off
    BLOCKED = "blocked"  # an earlier event of the aggregate is still pending
    DUE = "due"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 2.0
    cap_seconds: float = 600.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Exponential backoff with full jitter: uniform over [0, min(cap, base·2^(n-1))]."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** max(attempts - 1, 0))
        return timedelta(seconds=rng.uniform(0.0, ceiling))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    subscriber: str
    event_id: str
    type: str
    attempts: int
    last_error: str | None
    updated_at: datetime


class Ledger:
    def __init__(
        self, db: Database, clock: Clock, policy: RetryPolicy, rng: random.Random | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self.policy = policy
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)

    async def owe(self, conn: AsyncConnection, subscriber: str, items: Sequence[Published]) -> None:
        """Record that `subscriber` is to handle `items` (no-op for rows already there)."""
        now = self._clock.now()
        rows = [_pending_row(subscriber, item, now) for item in items]
        await insert_ignoring_duplicates(conn, deliveries, rows)

    async def owe_now(self, subscriber: str, items: Sequence[Published]) -> None:
        if items:
            async with UnitOfWork(self._db) as uow:
                await self.owe(uow.connection, subscriber, items)
                await uow.commit()

    async def state(self, subscriber: str, item: Published) -> State:
        async with self._db.read() as conn:  # the four questions in one round trip
            found = (await conn.execute(_STATE, _state_params(subscriber, item))).one()
        if found.handled:
            return State.HANDLED
        if found.status == DEAD:
            return State.DEAD
        if found.next_attempt_at is not None and found.next_attempt_at > self._clock.now():
            return State.NOT_DUE
        if found.blocked:
            return State.BLOCKED
        return State.DUE

    async def states(self, subscriber: str, items: Sequence[Published]) -> list[State | None]:
        """`state` of each of `items` (a page of `due`'s, in outbox order) in one question,
        as if each were delivered (and succeeded) before the next is asked about: an event
        blocked only by earlier ones of the page is due when they are. None for an event
        with no delivery row (ask `state`)."""
        ids = [item.event.event_id for item in items]
        query = _page_state(subscriber, ids)
        async with self._db.read() as conn:
            found = {row.event_id: row for row in await conn.execute(query)}
        now = self._clock.now()
        states: list[State | None] = []
        unsettled: set[tuple[str, str]] = set()  # aggregates with a page event not delivered
        for item in items:
            row = found.get(item.event.event_id)
            aggregate = (item.event.aggregate_type, item.event.aggregate_id)
            state: State | None
            if row is None:
                state = None
            elif row.handled:
                state = State.HANDLED
            elif row.status == DEAD:
                state = State.DEAD
            elif row.next_attempt_at is not None and row.next_attempt_at > now:
                state = State.NOT_DUE
            elif row.blocked or aggregate in unsettled:
                state = State.BLOCKED
            else:
                state = State.DUE
            if state in (State.BLOCKED, State.NOT_DUE):  # still pending: it blocks the rest
                unsettled.add(aggregate)
            states.append(state)
        return states

    async def succeeded_many(self, subscriber: str, items: Sequence[Published]) -> None:
        """`succeeded` for each of `items`, in one transaction."""
        if not items:
            return
        now = self._clock.now()
        ids = [item.event.event_id for item in items]
        handled = [{"subscriber": subscriber, "event_id": i, "handled_at": now} for i in ids]
        done = (
            update(deliveries)
            .where(deliveries.c.subscriber == subscriber, deliveries.c.event_id.in_(ids))
            .values(status=DONE, updated_at=now)
        )
        async with UnitOfWork(self._db) as uow:
            conn = uow.connection
            await insert_ignoring_duplicates(conn, inbox, handled)
            if (await conn.execute(done)).rowcount < len(set(ids)):  # some owed no row yet
                await self.owe(conn, subscriber, items)
                await conn.execute(done)
            await uow.commit()

    async def succeeded(self, subscriber: str, item: Published) -> None:
        now = self._clock.now()
        async with UnitOfWork(self._db) as uow:
            conn = uow.connection
            await mark_handled(conn, subscriber, item.event.event_id, self._clock)
            done = _this(subscriber, item.event.event_id).values(status=DONE, updated_at=now)
            if (await conn.execute(done)).rowcount == 0:  # no row owed it yet: one, done
                await self.owe(conn, subscriber, [item])
                await conn.execute(done)
            await uow.commit()

    async def failed(self, subscriber: str, item: Published, error: BaseException) -> str:
        """Count the attempt and schedule the next one; the status it leaves (pending|dead)."""
        now = self._clock.now()
        async with UnitOfWork(self._db) as uow:
            conn = uow.connection
            await self.owe(conn, subscriber, [item])
            row = await _row(conn, subscriber, item.event.event_id, lock=True)
            attempts = (row.attempts if row is not None else 0) + 1
            status = DEAD if attempts >= self.policy.max_attempts else PENDING
            await conn.execute(
                _this(subscriber, item.event.event_id).values(
                    attempts=attempts,
                    status=status,
                    next_attempt_at=now + self.policy.delay(attempts, self._rng),
                    last_error=type(error).__name__[:128],
                    updated_at=now,
                )
            )
            await uow.commit()
        return status

    async def due(self, subscriber: str, limit: int, *, after: int = 0) -> list[Published]:
        """Pending deliveries whose time has come, in outbox order, with their events."""
        query = (
            select(outbox)
            .join(deliveries, deliveries.c.event_id == outbox.c.event_id)
            .where(
                deliveries.c.subscriber == subscriber,
                deliveries.c.status == PENDING,
                deliveries.c.next_attempt_at <= self._clock.now(),
                deliveries.c.seq > after,
            )
            .order_by(deliveries.c.seq)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [published_from_row(row) for row in (await conn.execute(query)).mappings()]

    async def dead_letters(self) -> list[DeadLetter]:
        query = (
            select(deliveries)
            .where(deliveries.c.status == DEAD)
            .order_by(deliveries.c.seq, deliveries.c.subscriber)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            DeadLetter(
                r.subscriber, r.event_id, r.event_type, r.attempts, r.last_error, r.updated_at
            )
            for r in rows
        ]

    async def revive(self, event_id: str, subscriber: str | None) -> list[tuple[str, Published]]:
        """Make dead deliveries of `event_id` pending and due now, with a fresh attempt count."""
        now = self._clock.now()
        query = (
            select(deliveries.c.subscriber, outbox)
            .join(outbox, outbox.c.event_id == deliveries.c.event_id)
            .where(deliveries.c.event_id == event_id, deliveries.c.status == DEAD)
        )
        if subscriber is not None:
            query = query.where(deliveries.c.subscriber == subscriber)
        async with UnitOfWork(self._db) as uow:
            conn = uow.connection
            rows = (await conn.execute(query)).mappings().all()
            for row in rows:
                await conn.execute(
                    _this(row["subscriber"], event_id).values(
                        status=PENDING, attempts=0, next_attempt_at=now, updated_at=now
                    )
                )
            await uow.commit()
        return [(row["subscriber"], published_from_row(row)) for row in rows]


def _pending_row(subscriber: str, item: Published, now: datetime) -> dict[str, object]:
    event = item.event
    return {
        "subscriber": subscriber,
        "event_id": event.event_id,
        "seq": item.seq,
        "event_type": event.type,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "updated_at": now,
    }


def _this(subscriber: str, event_id: str) -> Update:
    return update(deliveries).where(
        deliveries.c.subscriber == subscriber, deliveries.c.event_id == event_id
    )


async def _row(
    conn: AsyncConnection, subscriber: str, event_id: str, *, lock: bool = False
) -> Row[Any] | None:
    query = select(deliveries).where(
        deliveries.c.subscriber == subscriber, deliveries.c.event_id == event_id
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).first()


def _delivery_of(column: Column[Any]) -> ScalarSelect[Any]:
    return (
        select(column)
        .where(
            deliveries.c.subscriber == bindparam("q_subscriber"),
            deliveries.c.event_id == bindparam("q_event_id"),
        )
        .scalar_subquery()
    )


# Built once (every delivery asks): handled (in the inbox), the delivery row's status and
# next attempt (NULL without a row), and whether an earlier event of the aggregate is still
# pending for the subscriber.
_STATE = select(
    exists()
    .where(
        inbox.c.subscriber == bindparam("q_subscriber"),
        inbox.c.event_id == bindparam("q_event_id"),
    )
    .label("handled"),
    _delivery_of(deliveries.c.status).label("status"),
    _delivery_of(deliveries.c.next_attempt_at).label("next_attempt_at"),
    exists()
    .where(
        deliveries.c.subscriber == bindparam("q_subscriber"),
        deliveries.c.aggregate_type == bindparam("q_aggregate_type"),
        deliveries.c.aggregate_id == bindparam("q_aggregate_id"),
        deliveries.c.seq < bindparam("q_seq"),
        deliveries.c.status == PENDING,
    )
    .label("blocked"),
)


def _page_state(subscriber: str, event_ids: Sequence[str]) -> Select[Any]:
    """`_STATE`'s questions for a page of events, where an earlier event of the page does not
    count as blocking (`Ledger.states` follows the page's own order)."""
    earlier = deliveries.alias("earlier")
    return select(
        deliveries.c.event_id,
        deliveries.c.status,
        deliveries.c.next_attempt_at,
        exists()
        .where(inbox.c.subscriber == subscriber, inbox.c.event_id == deliveries.c.event_id)
        .label("handled"),
        exists()
        .where(
            earlier.c.subscriber == subscriber,
            earlier.c.aggregate_type == deliveries.c.aggregate_type,
            earlier.c.aggregate_id == deliveries.c.aggregate_id,
            earlier.c.seq < deliveries.c.seq,
            earlier.c.status == PENDING,
            earlier.c.event_id.not_in(event_ids),
        )
        .label("blocked"),
    ).where(deliveries.c.subscriber == subscriber, deliveries.c.event_id.in_(event_ids))


def _state_params(subscriber: str, item: Published) -> dict[str, object]:
    event = item.event
    return {
        "q_subscriber": subscriber,
        "q_event_id": event.event_id,
        "q_aggregate_type": event.aggregate_type,
        "q_aggregate_id": event.aggregate_id,
        "q_seq": item.seq,
    }
