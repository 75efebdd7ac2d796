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

    async def lookup(self, question: str, names: Sequence[str]) -> tuple[bytes | None, str]:
        """The answer stored for `question` under the current generations of `names`, and
        the key to store it under when there is none (one round trip to Redis)."""
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


class RedisCache:
    def __init__(self, url: str, prefix: str = "clinicflow:cache") -> None:
        self.stats = CacheStats()
        self._redis = aioredis.Redis.from_url(url, socket_timeout=2)
        self._prefix = prefix
        self._lookup = self._redis.register_script(_LOOKUP)

    async def lookup(self, question: str, names: Sequence[str]) -> tuple[bytes | None, str]:
        gens = [f"{self._prefix}:g:{n}" for n in names]
        value, key = await self._lookup(keys=gens, args=[f"{self._prefix}:v:{question}"])
        found = value.encode() if isinstance(value, str) else value
        return found, key.decode() if isinstance(key, bytes) else str(key)

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        await self._redis.set(key, value, px=max(1, int(ttl_seconds * 1000)))

    async def bump(self, names: Iterable[str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.incr(f"{self._prefix}:g:{name}")
            await pipe.execute()

    async def aclose(self) -> None:
        await self._redis.aclose()
