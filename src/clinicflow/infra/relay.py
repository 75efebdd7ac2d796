"""The outbox relay: publishes unpublished outbox rows, in id order, in batches.

One transaction a batch: select the rows (FOR UPDATE SKIP LOCKED on PostgreSQL, so several
relays share the work and never take the same row), hand them to the transport, and only
then mark them published. A relay that dies before the commit leaves them unpublished and
the next pass publishes them again: delivery is at least once and consumers dedupe.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import RowMapping, func, select, update

from clinicflow.infra.bus import Envelope, Lag, Published, Transport
from clinicflow.infra.db import Database
from clinicflow.infra.logging import get_logger
from clinicflow.infra.outbox import outbox
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.shared.clock import Clock

log = get_logger(__name__)


class Relay:
    def __init__(
        self, db: Database, clock: Clock, transport: Transport, *, batch_size: int = 100
    ) -> None:
        self._db = db
        self._clock = clock
        self._transport = transport
        self._batch_size = batch_size

    async def publish_batch(self) -> int:
        """Publish up to one batch; how many rows this pass took."""
        query = (
            select(outbox)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self._batch_size)
        )
        if not self._db.is_sqlite:  # SQLite serializes writers (BEGIN IMMEDIATE) instead
            query = query.with_for_update(skip_locked=True)
        async with UnitOfWork(self._db) as uow:
            conn = uow.connection
            items = [published_from_row(row) for row in (await conn.execute(query)).mappings()]
            if not items:
                return 0
            await self._transport.publish(conn, items)
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([item.seq for item in items]))
                .values(published_at=self._clock.now())
            )
            await uow.commit()
        log.debug("outbox_published", events=len(items), up_to_outbox_id=items[-1].seq)
        return len(items)

    async def publish_pending(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Publish batches until none is left (rows locked by another relay are its own);
        `on_batch(n)` after each."""
        total = 0
        while published := await self.publish_batch():
            total += published
            if on_batch is not None:
                on_batch(published)
        return total

    async def lag(self) -> Lag:
        query = select(func.count(), func.min(outbox.c.occurred_at)).where(
            outbox.c.published_at.is_(None)
        )
        async with self._db.read() as conn:
            count, oldest = (await conn.execute(query)).one()
        age = None if oldest is None else self._clock.now() - oldest
        return Lag(unpublished=int(count), oldest_age=age)


def published_from_row(row: RowMapping) -> Published:
    """The envelope of an outbox row (a mapping with the outbox's columns)."""
    return Published(
        seq=int(row["id"]),
        event=Envelope(
            event_id=row["event_id"],
            type=row["type"],
            version=row["version"],
            occurred_at=row["occurred_at"],
            aggregate_type=row["aggregate_type"],
            aggregate_id=row["aggregate_id"],
            payload=dict(row["payload"]),
            traceparent=row["traceparent"],
        ),
    )
