"""A response cache with generation counters: in memory (one process, the embedded default) or
in Redis (every replica sees the same entries and the same generations).

Entries are never deleted to invalidate them. Each cached value's key carries the current
generation of everything it was computed from (e.g. one counter per practitioner calendar);
a change bumps the counters it touches, so the next read builds a key no one has stored and
recomputes. Old entries simply age out by their TTL. This keeps invalidation one atomic
INCR per touched name, whatever the number of cached queries that depended on it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError


@dataclass
class CacheStats:
    hits: dict[str, int] = field(default_factory=dict)
    misses: dict[str, int] = field(default_factory=dict)

    def count(self, cache: str, hit: bool) -> None:
        bucket = self.hits if hit else self.misses
        bucket[cache] = bucket.get(cache, 0) + 1


class Cache(Protocol):
    stats: CacheStats

    async def lookup(self, question: str, names: Sequence[str]) -> tuple[bytes | None, str]:
        """The answer stored for `question` under the current generations of `names`, and
        the key to store it under when there is none (one round trip to Redis, shared with
        the lookups asked in the same event-loop tick)."""
        ...

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None: ...

    async def bump(self, names: Iterable[str]) -> None: ...

    async def aclose(self) -> None: ...


class MemoryCache:
    """Bounded LRU with TTLs. Valid only when one process serves (the embedded default): a
    second process would not see this one's generation bumps."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.stats = CacheStats()
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max = max_entries
        self._gens: dict[str, int] = {}

    async def lookup(self, question: str, names: Sequence[str]) -> tuple[bytes | None, str]:
        key = f"{question}:{'.'.join(str(self._gens.get(n, 0)) for n in names)}"
        return await self._get(key), key

    async def _get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def bump(self, names: Iterable[str]) -> None:
        for name in names:
            self._gens[name] = self._gens.get(name, 0) + 1

    async def aclose(self) -> None:
        self._entries.clear()


# Reads the generations and the answer stored under them in one round trip. (The value key is
# built in the script, so this assumes one Redis, not a cluster.)
_LOOKUP = """
local gens = {}
for i, name in ipairs(KEYS) do gens[i] = redis.call('GET', name) or '0' end
local key = ARGV[1] .. ':' .. table.concat(gens, '.')
return {redis.call('GET', key), key}
"""

Answer = tuple[bytes | None, str]
_Ask = tuple[str, tuple[str, ...]]  # (question, names)


class RedisCache:
    """Entries and generations in Redis, shared by every replica.

    Lookups are coalesced. Under load, many requests in one process ask at nearly the same
    moment, and mostly the same few questions (the booking page's hot keys: this week, a
    popular service, "any practitioner"); one round trip each would make Redis latency and
    redis-py's per-command overhead the bottleneck. So the lookups asked during one tick of
    the event loop wait for the tick to end (`loop.call_soon`) and go out together, in one
    non-transactional pipeline: identical (question, names) lookups share one EVALSHA and its
    answer, distinct ones are separate EVALSHAs in the same pipeline.

    Read-your-writes still holds: a batch is closed when it is sent, and a lookup asked while
    one is in flight waits for the next batch, never the answer of one sent before it was
    asked. Every lookup's read therefore happens in Redis after the lookup was asked, so
    after any generation bump that returned before it. An error (Redis down, a timeout)
    reaches every waiter of its batch.
    """

    def __init__(self, url: str, prefix: str = "clinicflow:cache") -> None:
        self.stats = CacheStats()
        self._redis = aioredis.Redis.from_url(url, socket_timeout=2)
        self._prefix = prefix
        self._sha = self._redis.register_script(_LOOKUP).sha
        self._batch: dict[_Ask, list[asyncio.Future[Answer]]] = {}  # not yet sent
        self._sending: set[asyncio.Task[None]] = set()  # strong references while in flight

    async def lookup(self, question: str, names: Sequence[str]) -> Answer:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        if not self._batch:  # the tick's first lookup: send the batch once the tick ends
            loop.call_soon(self._flush, loop)
        self._batch.setdefault((question, tuple(names)), []).append(waiter)
        return await waiter

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._batch = self._batch, {}  # closed: later lookups start the next one
        task = loop.create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: dict[_Ask, list[asyncio.Future[Answer]]]) -> None:
        # Lookups whose callers all went away (cancelled) are not asked.
        asks = [ask for ask, waiters in batch.items() if not all(w.done() for w in waiters)]
        try:
            replies = await self._evalshas(asks) if asks else []
        except BaseException as exc:
            for waiters in batch.values():
                _fail(waiters, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for ask, reply in zip(asks, replies, strict=True):
            if isinstance(reply, Exception):
                _fail(batch[ask], reply)
                continue
            value, key = reply
            found = value.encode() if isinstance(value, str) else value
            answer = (found, key.decode() if isinstance(key, bytes) else str(key))
            for waiter in batch[ask]:
                if not waiter.done():
                    waiter.set_result(answer)

    async def _evalshas(self, asks: Sequence[_Ask]) -> list[Any]:
        """One pipeline, one EVALSHA per ask; the script is loaded (and the batch sent again)
        only when Redis does not know it (a restart, SCRIPT FLUSH)."""
        replies = await self._pipeline(asks)
        if any(isinstance(r, NoScriptError) for r in replies):
            await self._redis.script_load(_LOOKUP)
            replies = await self._pipeline(asks)
        return replies

    async def _pipeline(self, asks: Sequence[_Ask]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for question, names in asks:
                gens = [f"{self._prefix}:g:{n}" for n in names]
                pipe.evalsha(self._sha, len(gens), *gens, f"{self._prefix}:v:{question}")
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        await self._redis.set(key, value, px=max(1, int(ttl_seconds * 1000)))

    async def bump(self, names: Iterable[str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.incr(f"{self._prefix}:g:{name}")
            await pipe.execute()

    async def aclose(self) -> None:
        await self._redis.aclose()


def _fail(waiters: Sequence[asyncio.Future[Answer]], exc: BaseException) -> None:
    for waiter in waiters:
        if waiter.done():
            continue
        if isinstance(exc, Exception):
            waiter.set_exception(exc)
        else:
            waiter.cancel()
