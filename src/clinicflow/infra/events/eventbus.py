"""The event bus a process runs: the outbox relay plus a transport's delivery loops.

`clinicflow serve` calls start()/stop(): with the in-process transport that is one
background task that relays right after a transaction wrote to the outbox (or every poll
interval) and then sweeps due deliveries, retries included; with Redis the serve process
does nothing, the workers relay and consume. `clinicflow worker` calls run_worker() until
SIGTERM. Tests and the CLI call run_once().
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from clinicflow.infra.bus import Lag, Transport
from clinicflow.infra.db import Database
from clinicflow.infra.events.ledger import DeadLetter, Ledger
from clinicflow.infra.events.loop import pause
from clinicflow.infra.inbox import Inbox
from clinicflow.infra.logging import get_logger
from clinicflow.infra.relay import Relay
from clinicflow.shared.clock import Clock

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Pass:
    published: int  # outbox rows relayed
    delivered: int  # deliveries tried (handled, duplicate, failed or dead-lettered)


class EventBus:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        transport: Transport,
        ledger: Ledger,
        *,
        in_process: bool,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.transport = transport
        self.ledger = ledger
        self.inbox = Inbox(db, clock)
        self.relay = Relay(db, clock, transport, batch_size=batch_size)
        self.in_process = in_process
        self._poll = poll_seconds
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Background delivery for `clinicflow serve` (in-process transport only)."""
        if not self.in_process or self._tasks:
            return
        self._stop.clear()
        self.db.on_commit(self._committed)
        self._tasks.append(asyncio.create_task(self._deliver_loop(self._stop)))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        self._tasks.clear()
        self.db.off_commit(self._committed)

    async def run_worker(self, stop: asyncio.Event) -> None:
        """Relay and consume until `stop` is set; handlers under way finish first."""
        await self.transport.prepare()
        if self.in_process:
            await self._deliver_loop(stop)
            return
        await asyncio.gather(self._relay_loop(stop), self.transport.run(stop))

    async def run_once(self, on_batch: Callable[[int], None] | None = None) -> Pass:
        """Relay everything pending, then try every delivery that is due once."""
        published = await self.relay_once(on_batch)
        return Pass(published, await self.transport.consume_once())

    async def relay_once(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Publish what is pending; `on_batch(n)` after each batch (a progress bar)."""
        await self.transport.prepare()
        return await self.relay.publish_pending(on_batch)

    async def lag(self) -> Lag:
        return await self.relay.lag()

    async def dead_letters(self) -> list[DeadLetter]:
        return await self.ledger.dead_letters()

    async def replay(self, event_id: str, subscriber: str | None = None) -> list[str]:
        """Send a dead-lettered event again (to one subscriber, or each it died for)."""
        revived = await self.ledger.revive(event_id, subscriber)
        for name, item in revived:
            await self.transport.redeliver(item, name)
        return [name for name, _ in revived]

    async def aclose(self) -> None:
        await self.stop()
        await self.transport.aclose()

    async def _deliver_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("event_bus_pass_failed", retrying=True)
            await pause(stop, self._poll, self._wake)

    async def _relay_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.relay.publish_pending()
            except Exception:
                log.exception("outbox_relay_failed", retrying=True)
            await pause(stop, self._poll, self._wake)

    async def _committed(self, events: Sequence[Any]) -> None:
        """Wake the loop once a transaction that wrote events has committed. Listening after
        the commit (not on SQLAlchemy's `commit` event, which fires before the database has
        made the row visible) means the relay's next read finds the event."""
        self._wake.set()
