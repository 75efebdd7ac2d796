"""Availability answers cached, and dropped the moment a booking changes.

A cached answer's key holds the generation of every practitioner calendar it was computed
from and the current minute (minimum notice moves with the clock). Every committed booking
event bumps its practitioner's generation — and, on a reschedule, the previous one's — in the
commit listener of the write transaction (`Database.on_commit`), before the write's HTTP
response leaves: once a booking or cancellation has returned, no replica answers from the
old state. With Redis the generations are shared; in memory they hold for one process.

The route reports what it asked (`asked`): the gateway's fast path (gateway/cached_reads.py)
answers a repeated anonymous question from the same cache under the same generations, and
learns from that report which calendars a raw query string depends on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from clinicflow.booking.domain import visits as r
from clinicflow.booking.views import SlotView
from clinicflow.catalog import Catalog
from clinicflow.infra.cache import Cache, CacheStats
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError

CACHE_NAME = "availability"
# Where the availability route leaves (calendar generation names, minute) in `request.state`
# when its question was cacheable; the gateway's fast path reads it there.
ASKED_STATE = "availability_asked"

Asked = Callable[[Sequence[str], int], None]


class SlotFinder(Protocol):
    async def slots(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None,
    ) -> list[SlotView]: ...


Render = Callable[[list[SlotView]], bytes]


class CachedAvailability:
    """Caches the finished response body, not the slots: a hit is one lookup and the bytes go
    out as they are (no models built, nothing serialized). `cache` None: no caching."""

    def __init__(
        self,
        inner: SlotFinder,
        cache: Cache | None,
        catalog: Catalog,
        clock: Clock,
        ttl: float = 60.0,
    ) -> None:
        self._inner = inner
        self._cache = cache
        self._catalog = catalog
        self._clock = clock
        self._ttl = ttl

    async def slots(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None,
    ) -> list[SlotView]:
        return await self._inner.slots(service, visit_type, duration, lo, hi, practitioner)

    async def answer(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None,
        render: Render,
        *,
        asked: Asked | None = None,
    ) -> bytes:
        """The finished body. `asked`, when given, is called with the calendar generation
        names and the minute the answer depends on, if the question was cacheable."""
        question = (service, visit_type, duration, lo, hi, practitioner)
        found = self._question(*question) if self._cache is not None else None
        if self._cache is None or found is None:
            return render(await self._inner.slots(*question))
        digest, calendars, minute = found
        if asked is not None:
            asked(calendars, minute)
        cached, key = await self._cache.lookup(digest, calendars)
        self._cache.stats.count(CACHE_NAME, cached is not None)
        if cached is not None:
            return cached
        body = render(await self._inner.slots(*question))
        await self._cache.set(key, body, self._ttl)
        return body

    def _question(
        self,
        service: str,
        visit_type: str,
        duration: int,
        lo: datetime,
        hi: datetime,
        practitioner: str | None,
    ) -> tuple[str, list[str], int] | None:
        """The question's digest (the minute included), the calendars it depends on and the
        minute; None when it is invalid: the finder raises its proper error then."""
        try:
            visit = r.resolve(self._catalog, service, visit_type, duration)
            keys = sorted(r.eligible(self._catalog, visit.service, practitioner))
        except DomainError:
            return None
        minute = int(self._clock.now().timestamp() // 60)
        parts = (service, visit_type, duration, practitioner, lo.isoformat(), hi.isoformat())
        digest = hashlib.sha256(json.dumps([*parts, minute, keys]).encode()).hexdigest()
        return f"{CACHE_NAME}:{digest}", [f"calendar:{k}" for k in keys], minute

    @property
    def stats(self) -> CacheStats | None:
        return self._cache.stats if self._cache is not None else None

    @property
    def cache(self) -> Cache | None:
        """The store answers are cached in (None: no caching)."""
        return self._cache

    @property
    def ttl(self) -> float:
        """Seconds a cached answer is kept."""
        return self._ttl

    async def booking_changed(self, events: Sequence[Any]) -> None:
        """The commit listener: bump the calendars the committed booking events touched."""
        touched: set[str | None] = set()
        for event in events:
            if event.type == "service.launched":  # a service becomes bookable on its calendars
                service = self._catalog.services.get(event.payload.get("service", ""))
                touched.update(service.calendars if service else ())
            if not event.type.startswith("booking."):
                continue
            touched.add(event.payload.get("practitioner"))
            touched.add((event.payload.get("previous") or {}).get("practitioner"))
        names = [f"calendar:{p}" for p in touched if p]
        if names and self._cache is not None:
            await self._cache.bump(names)
