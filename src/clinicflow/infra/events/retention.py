"""Retention of the event bus's own bookkeeping: published outbox rows, finished deliveries
and handled-event (inbox) rows would otherwise grow by several rows per event for ever.

Only what is safely done goes:
- an outbox row once published, and only when no delivery of it is still pending or dead
  (a dead letter's replay reads the event back from its outbox row);
- a delivery row once `done`;
- an inbox row once older than the redelivery horizon — the inbox is what makes a repeated
  delivery do nothing, so it must outlive any redelivery (a Redis entry reclaimed from a
  silent worker, a replay) — and only when no delivery of that event to that subscriber is
  still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, Table, and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.events.ledger import DONE, deliveries
from clinicflow.infra.inbox import inbox
from clinicflow.infra.outbox import outbox

__all__ = ["EventCutoffs", "EventPrune", "cutoffs", "due", "prune"]


class EventRetention(Protocol):
    """What pruning needs from the retention policy (infra cannot import the catalog)."""

    @property
    def published_events_days(self) -> int: ...
    @property
    def finished_deliveries_days(self) -> int: ...
    @property
    def handled_events_days(self) -> int: ...


@dataclass(frozen=True, slots=True)
class EventCutoffs:
    outbox: datetime  # published before this
    deliveries: datetime  # finished (last touched) before this
    inbox: datetime  # handled before this


@dataclass(frozen=True, slots=True)
class EventPrune:
    """How many rows of each table are due (dry run) or were deleted."""

    outbox: int = 0
    deliveries: int = 0
    inbox: int = 0


def cutoffs(policy: EventRetention, now: datetime) -> EventCutoffs:
    return EventCutoffs(
        outbox=now - timedelta(days=policy.published_events_days),
        deliveries=now - timedelta(days=policy.finished_deliveries_days),
        inbox=now - timedelta(days=policy.handled_events_days),
    )


def _conditions(at: EventCutoffs) -> dict[Table, ColumnElement[bool]]:
    open_delivery = deliveries.c.status != DONE
    return {
        outbox: and_(
            outbox.c.published_at.is_not(None),
            outbox.c.published_at < at.outbox,
            ~exists().where(deliveries.c.seq == outbox.c.id, open_delivery),
        ),
        deliveries: and_(deliveries.c.status == DONE, deliveries.c.updated_at < at.deliveries),
        inbox: and_(
            inbox.c.handled_at < at.inbox,
            ~exists().where(
                deliveries.c.subscriber == inbox.c.subscriber,
                deliveries.c.event_id == inbox.c.event_id,
                open_delivery,
            ),
        ),
    }


async def due(conn: AsyncConnection, at: EventCutoffs) -> EventPrune:
    counts = {}
    for table, where in _conditions(at).items():
        query = select(func.count()).select_from(table).where(where)
        counts[table.name] = int((await conn.execute(query)).scalar_one())
    return _prune(counts)


async def prune(conn: AsyncConnection, at: EventCutoffs) -> EventPrune:
    """Delete what is due, in the caller's write transaction."""
    counts = {}
    for table, where in _conditions(at).items():
        counts[table.name] = (await conn.execute(delete(table).where(where))).rowcount
    return _prune(counts)


def _prune(counts: dict[str, int]) -> EventPrune:
    return EventPrune(
        outbox=counts[outbox.name], deliveries=counts[deliveries.name], inbox=counts[inbox.name]
    )
