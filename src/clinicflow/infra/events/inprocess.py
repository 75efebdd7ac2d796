"""In-process transport, the embedded default: the subscribers live in this process.

Publishing writes each subscriber's delivery row in the relay's own transaction, so an event
marked published is never lost: after the commit a sweep hands due rows to the subscribers
in outbox order, and failed ones wait in the ledger for their next attempt (which a restart
does not forget). Sweeps run one at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.bus import BatchSubscriber, Published, Subscriber, wants
from clinicflow.infra.events.dispatch import Dispatcher, Outcome
from clinicflow.infra.events.loop import pause
from clinicflow.infra.logging import get_logger

log = get_logger(__name__)


class InProcessTransport:
    def __init__(
        self,
        dispatcher: Dispatcher,
        subscribers: Sequence[Subscriber],
        *,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
    ) -> None:
        self._dispatcher = dispatcher
        self._subscribers = list(subscribers)
        self._batch = batch_size
        self._poll = poll_seconds
        self._sweeping = asyncio.Lock()

    async def prepare(self) -> None:
        return None

    async def publish(self, conn: AsyncConnection, items: Sequence[Published]) -> None:
        for sub in self._subscribers:
            wanted = [item for item in items if wants(sub, item.event.type)]
            if wanted:
                await self._dispatcher.ledger.owe(conn, sub.name, wanted)

    async def redeliver(self, item: Published, subscriber: str) -> None:
        return None  # the revived delivery row is due now: the next sweep takes it

    async def consume_once(self) -> int:
        """One sweep: every due delivery tried once, subscriber by subscriber, in order."""
        async with self._sweeping:
            return sum([await self._sweep(sub) for sub in self._subscribers])

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.consume_once()
            except Exception:
                log.exception("in_process_delivery_failed", retrying=True)
            await pause(stop, self._poll)

    async def aclose(self) -> None:
        return None

    async def _sweep(self, sub: Subscriber) -> int:
        tried, after = 0, 0
        while page := await self._dispatcher.ledger.due(sub.name, self._batch, after=after):
            if isinstance(sub, BatchSubscriber):
                tried += await self._dispatcher.deliver_page(sub, page)
            else:
                for item in page:
                    outcome = await self._dispatcher.deliver(sub, item)
                    tried += outcome not in (Outcome.NOT_DUE, Outcome.BLOCKED)
            after = page[-1].seq
        return tried
