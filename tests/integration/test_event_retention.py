"""The retention run prunes the event bus's bookkeeping — published outbox events, finished
deliveries, handled-event (inbox) records — and only what is safely done, on SQLite and
PostgreSQL.

NOW = 2026-11-24 15:00 UTC with the default policy: outbox and deliveries cut off at
2026-10-25 15:00 (30 days), the inbox at 2026-08-26 15:00 (90 days).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from clinicflow import retention
from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra.db import Database
from clinicflow.infra.events.ledger import deliveries
from clinicflow.infra.events.retention import EventPrune
from clinicflow.infra.inbox import inbox
from clinicflow.infra.outbox import outbox
from clinicflow.infra.unit_of_work import UnitOfWork

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=120)  # past every cutoff
RECENT = NOW - timedelta(days=2)  # within every cutoff

# outbox id -> (published at, the state of its one delivery, if any)
EVENTS: dict[int, tuple[datetime | None, str | None]] = {
    1: (OLD, "done"),  # published, delivered long ago: goes (with its delivery)
    2: (OLD, None),  # published, no subscriber wanted it: goes
    3: (RECENT, "done"),  # published lately: stays
    4: (None, None),  # never published: stays
    5: (OLD, "dead"),  # a dead letter waits for its replay, which reads the outbox row
    6: (OLD, "pending"),  # still being retried
}
PRUNED_EVENTS = {1, 2}
# (subscriber, event) handled at -> the delivery still open for it, if any
HANDLED = {
    ("notify", "e1"): OLD,  # past the redelivery horizon: goes
    ("notify", "e3"): RECENT,  # stays
    ("notify", "e5"): OLD,  # its delivery is dead, a replay may come: stays
    ("analytics", "e2"): NOW - timedelta(days=60),  # inside the 90-day horizon: stays
}
PRUNED_HANDLED = {("notify", "e1")}


@pytest.fixture
async def db(
    database_url: str, open_database: Callable[[str], Database]
) -> AsyncIterator[Database]:
    database = open_database(database_url)
    async with UnitOfWork(database) as uow:
        conn = uow.connection
        for seq, (published, delivery) in EVENTS.items():
            await conn.execute(insert(outbox).values(_event(seq, published)))
            if delivery:
                await conn.execute(insert(deliveries).values(_delivery(seq, delivery, published)))
        for (subscriber, event_id), at in HANDLED.items():
            row = {"subscriber": subscriber, "event_id": event_id, "handled_at": at}
            await conn.execute(insert(inbox).values(row))
        await uow.commit()
    yield database
    await database.dispose()


def _event(seq: int, published: datetime | None) -> dict[str, Any]:
    return {
        "id": seq,
        "event_id": f"e{seq}",
        "type": "booking.created",
        "version": 1,
        "occurred_at": OLD,
        "aggregate_type": "booking",
        "aggregate_id": f"b{seq}",
        "payload": {},
        "published_at": published,
    }


def _delivery(seq: int, status: str, at: datetime | None) -> dict[str, Any]:
    return {
        "subscriber": "notify",
        "event_id": f"e{seq}",
        "seq": seq,
        "event_type": "booking.created",
        "aggregate_type": "booking",
        "aggregate_id": f"b{seq}",
        "status": status,
        "attempts": 5 if status == "dead" else 1,
        "next_attempt_at": at or OLD,
        "updated_at": at or OLD,
    }


async def _left(db: Database) -> tuple[set[int], set[str], set[tuple[str, str]]]:
    async with db.read() as conn:
        events = set((await conn.execute(select(outbox.c.id))).scalars())
        sent = set((await conn.execute(select(deliveries.c.event_id))).scalars())
        handled = {(r.subscriber, r.event_id) for r in await conn.execute(select(inbox))}
    return events, sent, handled


async def test_a_dry_run_counts_what_is_due_and_deletes_nothing(db: Database) -> None:
    before = await _left(db)

    planned = await retention.plan(db, RetentionPolicy(), NOW)

    assert planned.events == EventPrune(outbox=2, deliveries=1, inbox=1)
    assert await _left(db) == before


async def test_applying_deletes_only_rows_safely_done(db: Database) -> None:
    done = await retention.apply(db, RetentionPolicy(), NOW)

    events, sent, handled = await _left(db)
    assert done.events == EventPrune(outbox=2, deliveries=1, inbox=1)
    assert events == set(EVENTS) - PRUNED_EVENTS
    assert sent == {"e3", "e5", "e6"}  # the old finished one went; dead and pending stay
    assert handled == set(HANDLED) - PRUNED_HANDLED


async def test_the_cutoffs_come_from_the_retention_policy(db: Database) -> None:
    keep_longer = RetentionPolicy(
        published_events_days=365, finished_deliveries_days=365, handled_events_days=365
    )

    done = await retention.apply(db, keep_longer, NOW)

    assert done.events == EventPrune()
    assert await _left(db) == (
        set(EVENTS),
        {"e1", "e3", "e5", "e6"},
        set(HANDLED),
    )
