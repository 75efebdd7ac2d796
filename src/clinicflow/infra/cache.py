"""A response cache with generation counters: in memory (one process, the embedded default) or
in Redis (every replica sees the same entries and the same generations).

Entries are never deleted to invalidate them. Each cached value's key carries the current
generation of everything it was computed from (e.g. one counter per practitioner calendar);
a change bumps the counters it touches, so the next read builds a key no one has stored and
recomputes. Old entries simply age out by their TTL. This keeps invalidation one atomic
INCR per touched name, whatever the number of cached queries that depended on it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis


@dataclass
class CacheStats:
    hits: dict[str, int] = field(default_factory=dict)
    misses: dict[str, int] = field(default_factory=dict)

    def count(self, cache: str, hit: bool) -> None:
        bucket = self.hits if hit else self.misses
        bucket[cache] = bucket.get(cache, 0) + 1


class Cache(Protocol):
    stats: CacheStats

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None: ...

    async def generations(self, names: Sequence[str]) -> list[int]: ...

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

    async def get(self, key: str) -> bytes | None:
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

    async def generations(self, names: Sequence[str]) -> list[int]:
        return [self._gens.get(n, 0) for n in names]

    async def bump(self, names: Iterable[str]) -> None:
        for name in names:
            self._gens[name] = self._gens.get(name, 0) + 1

    async def aclose(self) -> None:
        self._entries.clear()


class RedisCache:
    def __init__(self, url: str, prefix: str = "clinicflow:cache") -> None:
        self.stats = CacheStats()
        self._redis = aioredis.Redis.from_url(url, socket_timeout=2)
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(f"{self._prefix}:v:{key}")
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        await self._redis.set(f"{self._prefix}:v:{key}", value, px=max(1, int(ttl_seconds * 1000)))

    async def generations(self, names: Sequence[str]) -> list[int]:
        if not names:
            return []
        found = await self._redis.mget([f"{self._prefix}:g:{n}" for n in names])
        return [int(v) if v is not None else 0 for v in found]

    async def bump(self, names: Iterable[str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.incr(f"{self._prefix}:g:{name}")
            await pipe.execute()

    async def aclose(self) -> None:
        await self._redis.aclose()
