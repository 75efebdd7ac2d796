"""Redis Streams transport: one stream, one consumer group per subscriber.

Each worker is one consumer in every subscriber's group. A pass, per subscriber: claim the
entries a silent consumer has held longer than the claim idle time (XAUTOCLAIM: a killed
worker's events go to the next), read new entries (XREADGROUP >), record them in the
delivery ledger, then walk this consumer's pending entries in stream order and hand each
to the dispatcher. An entry is acknowledged (XACK) only once settled: handled, a duplicate,
or dead-lettered. A failing entry stays pending here until its backoff has passed; a later
entry of the same aggregate stays pending too (the ledger says an earlier one is owed), so
a subscriber sees an aggregate's events in order.

Limits, on purpose: a consumer records the entries it has read in the ledger before it
handles any, so ordering holds across workers except in the instant between two workers
reading adjacent batches and recording them. Groups are created at the stream's end by the
worker before it relays, so a new subscriber starts from now rather than replaying the
stream. MAXLEN trimming may drop entries nobody has read yet: keep it well above the
backlog. Set the claim idle time above the slowest handler, or a live worker's event is
claimed too (the inbox still keeps the database effect single).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.bus import Envelope, Published, Subscriber, wants
from clinicflow.infra.events.dispatch import Dispatcher, Outcome
from clinicflow.infra.events.loop import pause
from clinicflow.infra.logging import get_logger

log = get_logger(__name__)

Entry = tuple[str, dict[str, str]]


class RedisStreamsTransport:
    def __init__(
        self,
        client: Redis,
        dispatcher: Dispatcher,
        subscribers: Sequence[Subscriber],
        *,
        stream: str,
        consumer: str,
        maxlen: int = 100_000,
        batch_size: int = 100,
        claim_idle_ms: int = 60_000,
        block_ms: int = 1_000,
    ) -> None:
        self.client = client
        self._dispatcher = dispatcher
        self._subscribers = list(subscribers)
        self.stream = stream
        self.consumer = consumer
        self._maxlen = maxlen
        self._batch = batch_size
        self._claim_idle_ms = claim_idle_ms
        self._block_ms = block_ms
        self._prepared = False

    async def prepare(self) -> None:
        """Create the groups (at the stream's end: a new subscriber starts from now)."""
        for sub in self._subscribers:
            try:
                await self.client.xgroup_create(self.stream, sub.name, id="$", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            await self._forget_idle_consumers(sub.name)
        self._prepared = True

    async def publish(self, conn: AsyncConnection, items: Sequence[Published]) -> None:
        if not self._prepared:
            await self.prepare()
        await self._add([_encode(item, target="") for item in items])

    async def redeliver(self, item: Published, subscriber: str) -> None:
        await self._add([_encode(item, target=subscriber)])

    async def consume_once(self) -> int:
        if not self._prepared:
            await self.prepare()
        return sum([await self._pass(sub, block_ms=None) for sub in self._subscribers])

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._loop(sub, stop) for sub in self._subscribers))

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _loop(self, sub: Subscriber, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._pass(sub, block_ms=self._block_ms, stop=stop)
            except Exception:
                log.exception("stream_consume_failed", subscriber=sub.name, retrying=True)
                await pause(stop, self._block_ms / 1000)

    async def _pass(
        self, sub: Subscriber, *, block_ms: int | None, stop: asyncio.Event | None = None
    ) -> int:
        claimed = await self._claim(sub)
        fresh = await self._read(sub, ">", block_ms=None if claimed else block_ms)
        owed = [pair[0] for pair in map(_decode, claimed + fresh) if pair and _wants(sub, pair)]
        await self._dispatcher.ledger.owe_now(sub.name, owed)
        return await self._drain(sub, stop)

    async def _claim(self, sub: Subscriber) -> list[Entry]:
        reply: Any = await self.client.xautoclaim(
            self.stream, sub.name, self.consumer, self._claim_idle_ms, "0-0", count=self._batch
        )
        claimed: list[Entry] = [(entry_id, fields) for entry_id, fields in reply[1] if fields]
        if claimed:
            log.info(
                "stalled_events_claimed",
                consumer=self.consumer,
                events=len(claimed),
                subscriber=sub.name,
            )
            await self._forget_idle_consumers(sub.name)
        return claimed

    async def _read(self, sub: Subscriber, start: str, *, block_ms: int | None) -> list[Entry]:
        reply: Any = await self.client.xreadgroup(
            sub.name, self.consumer, {self.stream: start}, count=self._batch, block=block_ms
        )
        return [(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries]

    async def _drain(self, sub: Subscriber, stop: asyncio.Event | None) -> int:
        """Walk this consumer's pending entries in order; acknowledge the settled ones."""
        tried, after = 0, "0"
        while page := await self._read(sub, after, block_ms=None):
            settled: list[str] = []
            for entry in page:
                if stop is not None and stop.is_set():
                    break  # shutting down: the rest are claimed by another worker later
                decoded = _decode(entry)
                if not decoded or not _wants(sub, decoded):
                    if not entry[1]:
                        log.warning("stream_entry_trimmed_unhandled", entry_id=entry[0])
                    settled.append(entry[0])  # not for this subscriber, or unreadable
                    continue
                outcome = await self._dispatcher.deliver(sub, decoded[0])
                tried += outcome not in (Outcome.NOT_DUE, Outcome.BLOCKED)
                if outcome.settled:
                    settled.append(entry[0])
            if settled:
                await self.client.xack(self.stream, sub.name, *settled)
            if stop is not None and stop.is_set():
                break
            after = page[-1][0]
        return tried

    async def _add(self, fields: list[dict[str, str]]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for entry in fields:
                pipe.xadd(self.stream, entry, maxlen=self._maxlen, approximate=True)  # type: ignore[arg-type]
            await pipe.execute()

    async def _forget_idle_consumers(self, group: str) -> None:
        """Drop consumers of dead workers once nothing is pending with them."""
        threshold = max(self._claim_idle_ms, 60_000)
        for info in await self.client.xinfo_consumers(self.stream, group):
            if info["name"] != self.consumer and info["pending"] == 0 and info["idle"] > threshold:
                await self.client.xgroup_delconsumer(self.stream, group, info["name"])


def _encode(item: Published, *, target: str) -> dict[str, str]:
    event = item.event
    return {
        "seq": str(item.seq),
        "event_id": event.event_id,
        "type": event.type,
        "version": str(event.version),
        "occurred_at": event.occurred_at.isoformat(),
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "payload": json.dumps(dict(event.payload), default=str),
        "traceparent": event.traceparent or "",
        "target": target,  # "" for every subscriber; a name for a replay
    }


def _decode(entry: Entry) -> tuple[Published, str] | None:
    try:
        return _parse(entry[1]) if entry[1] else None
    except (KeyError, ValueError):
        log.warning("stream_entry_not_an_event", entry_id=entry[0])
        return None


def _parse(fields: dict[str, Any]) -> tuple[Published, str]:
    event = Envelope(
        event_id=fields["event_id"],
        type=fields["type"],
        version=int(fields["version"]),
        occurred_at=datetime.fromisoformat(fields["occurred_at"]),
        aggregate_type=fields["aggregate_type"],
        aggregate_id=fields["aggregate_id"],
        payload=json.loads(fields["payload"]),
        traceparent=fields["traceparent"] or None,
    )
    return Published(seq=int(fields["seq"]), event=event), fields["target"]


def _wants(sub: Subscriber, decoded: tuple[Published, str]) -> bool:
    item, target = decoded
    return wants(sub, item.event.type) and target in ("", sub.name)
