"""What the event bus carries and who listens: the envelope and the subscriber protocol.

Events are written to the outbox in the transaction that makes the change (infra/outbox.py);
a relay publishes them to a transport (in-process, or Redis Streams); each subscriber gets
every event of the types it wants, at least once, in order per aggregate, and records the
ids it has handled in an inbox so a repeated delivery does nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event as delivered: ids and facts, no PHI beyond ids, plus W3C trace context."""

    event_id: str
    type: str  # e.g. "booking.created"
    version: int
    occurred_at: datetime
    aggregate_type: str
    aggregate_id: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    traceparent: str | None = None


ALL_EVENTS = "*"


class Subscriber(Protocol):
    """A consumer of events. `name` is stable: it keys the inbox and the consumer group.
    `types` holding `ALL_EVENTS` takes every type (analytics, outbound webhooks)."""

    name: str
    types: frozenset[str]

    async def handle(self, event: Envelope) -> None:
        """Raise to have the event retried (with backoff), then dead-lettered."""
        ...


@runtime_checkable
class BatchSubscriber(Subscriber, Protocol):
    """A subscriber that can take several events at once, all or none (one transaction).
    The in-process transport hands it each sweep's due events of a page together and marks
    them handled together: two transactions a page instead of three an event (the analytics
    recorder takes every event, so its deliveries were most of a busy day's transactions).
    They are marked handled after it returns, so a batch may come again (a crash between
    the two): a repeated event must change nothing (the recorder inserts ignoring duplicates).
    If it raises, its events are delivered one by one, each retried on its own."""

    async def handle_batch(self, events: Sequence[Envelope]) -> None:
        """`events` in outbox order; handled as `handle` would one after the other."""
        ...


def wants(sub: Subscriber, event_type: str) -> bool:
    return event_type in sub.types or ALL_EVENTS in sub.types


@dataclass(frozen=True, slots=True)
class Published:
    """An event leaving the outbox: `seq` is its outbox id, the order of publication."""

    seq: int
    event: Envelope


@dataclass(frozen=True, slots=True)
class Lag:
    """Outbox rows not yet published, and how long the oldest has waited."""

    unpublished: int
    oldest_age: timedelta | None


class Transport(Protocol):
    """Carries published events to the subscribers: in-process, or Redis Streams."""

    async def prepare(self) -> None:
        """Create what must exist before the first publish (e.g. consumer groups)."""
        ...

    async def publish(self, conn: AsyncConnection, items: Sequence[Published]) -> None:
        """Accept a batch inside the relay's transaction; raise to leave it unpublished."""
        ...

    async def consume_once(self) -> int:
        """Deliver what is due, without waiting; return how many deliveries were tried."""
        ...

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set (the worker's loops)."""
        ...

    async def redeliver(self, item: Published, subscriber: str) -> None:
        """Send one event again to one subscriber (replay of a dead letter)."""
        ...

    async def aclose(self) -> None: ...
