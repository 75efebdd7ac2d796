"""Availability: the open slots of a visit (bulk-load busy time, run the pure engine, answer
in local time), inside a write who takes one slot (`Placement`), and the answers cached
(`CachedAvailability`).

Availability answers cached, and dropped the moment a booking changes.

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

import asyncio
import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from clinicflow.booking import errors
from clinicflow.booking.commands import SlotQuestion, SlotRequest
from clinicflow.booking.domain.availability import Interval, find_slots
from clinicflow.booking.domain.locks import lock_keys
from clinicflow.booking.domain.matching import order_candidates
from clinicflow.booking.domain.visits import (
    Placed,
    VisitRequest,
    calendars,
    choose,
    eligible,
    resolve,
)
from clinicflow.booking.events import booking_event
from clinicflow.booking.ports import BookingUnitOfWork, CalendarSource, Launches
from clinicflow.booking.views import SlotView
from clinicflow.catalog import Catalog
from clinicflow.infra.cache import Cache, CacheStats
from clinicflow.infra.outbox import Event
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError
from clinicflow.shared.minutes import from_minute, to_minute, to_minute_ceil

MAX_RANGE = timedelta(days=92)
# Busy blocks are read a day beyond the window: buffers and local days reach past its edges.
_MARGIN = timedelta(days=1)


class AvailabilityService:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[BookingUnitOfWork],
        catalog: Catalog,
        clock: Clock,
        sources: Sequence[CalendarSource],
        launches: Launches | None = None,
    ) -> None:
        """`launches`: refreshed before each question, so a launched service has slots."""
        self._uow = uow
        self._catalog = catalog
        self._clock = clock
        self._sources = sources
        self._launches = launches
        self._tz = catalog.clinic.tz

    async def find(self, question: SlotQuestion) -> list[SlotView]:
        if self._launches is not None:
            await self._launches.refresh()
        visit = resolve(self._catalog, question.service, question.visit_type, question.duration)
        keys = eligible(self._catalog, visit.service, question.practitioner)
        lo, hi = question.lo, question.hi
        _check_range(lo, hi)
        now = self._clock.now()
        async with self._uow.reading() as uow:
            busy = await uow.appointments.busy_blocks(keys, lo - _MARGIN, hi + _MARGIN, now)
        window = (to_minute_ceil(lo), to_minute_ceil(hi))
        margin = (to_minute(lo - _MARGIN), to_minute(hi + _MARGIN))
        other = await busy_elsewhere(self._sources, keys, margin)
        cals = calendars(self._catalog, keys, busy, *other)
        found = find_slots(cals, visit.rules(now), window, self._tz)
        tz = self._tz
        return [
            SlotView(
                from_minute(s.start).astimezone(tz),
                from_minute(s.end).astimezone(tz),
                s.practitioners,
            )
            for s in found
        ]


class Placement:
    """Who takes a slot, and whether the patient is free then, in a write's unit of work:
    checked against every committed booking (and every writer ahead of it in line)."""

    def __init__(self, *, catalog: Catalog, sources: Sequence[CalendarSource]) -> None:
        self._catalog = catalog
        self._sources = sources
        self._tz = catalog.clinic.tz

    async def place(
        self,
        uow: BookingUnitOfWork,
        visit: VisitRequest,
        slot: SlotRequest,
        patient_id: str | None,
        now: datetime,
        exclude_id: str | None = None,
    ) -> Placed:
        """Who takes `slot`, once every writer ahead at the same practitioners' times (on
        PostgreSQL: domain/locks.py) has committed or rolled back; raises why nobody can."""
        keys = eligible(self._catalog, visit.service, slot.practitioner)
        lo, hi = visit.block(slot.start)
        await uow.slot_locks.queue_for(lock_keys(keys, (lo, hi)))
        if len(keys) > 1:
            keys = await self._match_order(uow, visit, keys, slot.start, patient_id, now)
        busy, lapsed = await uow.appointments.blocks_and_lapsed_holds(keys, lo, hi, now, exclude_id)
        window = (to_minute(lo), to_minute(hi) + 1)
        other = await busy_elsewhere(self._sources, keys, window)
        found: dict[str, list[Interval]] = {}
        while True:
            sources = [busy, *other, found]
            placed = choose(self._catalog, visit, keys, slot.start, now, sources, lapsed)
            if placed.practitioner in found:  # what the live check found does not collide
                return placed
            live = await confirmed_elsewhere(self._sources, placed.practitioner, window)
            if not live:
                return placed
            # The chosen practitioner's calendar took this time since it was last read: the
            # next candidate, if any, or `choose` says why nobody can (slot_unavailable).
            found.setdefault(placed.practitioner, []).extend(live)

    async def _match_order(
        self,
        uow: BookingUnitOfWork,
        visit: VisitRequest,
        keys: tuple[str, ...],
        start: datetime,
        patient_id: str | None,
        now: datetime,
    ) -> tuple[str, ...]:
        local = start.astimezone(self._tz)
        day_lo = local.replace(hour=0, minute=0, second=0, microsecond=0)
        day_hi = (day_lo.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=self._tz)
        load = await uow.appointments.day_load(keys, day_lo, day_hi, now)
        previous = None
        if patient_id is not None:
            previous = await uow.appointments.previous_practitioner(
                patient_id, visit.service.key, keys
            )
        return tuple(order_candidates(keys, previous, load))

    @staticmethod
    async def expire_lapsed_holds(
        uow: BookingUnitOfWork, placed: Placed, visit: VisitRequest, start: datetime, now: datetime
    ) -> None:
        """Lapsed holds still sit in the table (their block would refuse ours); only when the
        placement saw some, mark them expired first."""
        if placed.lapsed_holds:
            lo, hi = visit.block(start)
            expired = await uow.appointments.expire_lapsed_holds(placed.practitioner, lo, hi, now)
            uow.publish(*(booking_event("hold_expired", hold, now) for hold in expired))

    async def check_patient_free(
        self,
        uow: BookingUnitOfWork,
        actor: Actor,
        patient_id: str | None,
        start: datetime,
        duration: int,
        now: datetime,
        exclude_id: str | None = None,
    ) -> None:
        if patient_id is None:
            return
        end = start + timedelta(minutes=duration)
        if not await uow.appointments.patient_overlaps(patient_id, start, end, now, exclude_id):
            return
        if actor.kind == "anonymous":
            # Anyone can type someone's email: say nothing about that person's visits, not
            # even which time collided. The person sees their visits once signed in.
            raise errors.PatientUnavailable(ANONYMOUS_OVERLAP)
        raise errors.PatientUnavailable(
            "this patient already has a visit that overlaps "
            f"{start.astimezone(self._tz).isoformat()}; choose another time"
        )


ANONYMOUS_OVERLAP = (
    "this visit cannot be booked with these contact details; choose another time, or ask "
    "for a sign-in link (POST /v1/auth/patient-link) to see the visits on your record"
)


async def busy_elsewhere(
    sources: Sequence[CalendarSource], keys: Sequence[str], window: Interval
) -> list[Mapping[str, Sequence[Interval]]]:
    """Each source's busy blocks for `keys` in `window`, one mapping per source."""
    return [await source.busy(keys, window) for source in sources]


async def confirmed_elsewhere(
    sources: Sequence[CalendarSource], practitioner: str, window: Interval
) -> list[Interval]:
    """What the sources find `practitioner` busy with in `window` when asked live, all at
    once (each source keeps to its own timeout)."""
    answers = await asyncio.gather(*(s.confirm(practitioner, window) for s in sources))
    return [block for answer in answers for block in answer]


def _check_range(lo: datetime, hi: datetime) -> None:
    if hi <= lo:
        raise errors.InvalidRange("`end` must be after `start`")
    if hi - lo > MAX_RANGE:
        raise errors.RangeTooLong(
            f"ask for at most {MAX_RANGE.days} days at a time; narrow `start`..`end`"
        )


CACHE_NAME = "availability"
# Where the availability route leaves (calendar generation names, minute) in `request.state`
# when its question was cacheable; the gateway's fast path reads it there.
ASKED_STATE = "availability_asked"

Asked = Callable[[Sequence[str], int], None]


class SlotFinder(Protocol):
    async def find(self, question: SlotQuestion) -> list[SlotView]: ...


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
        """The open slots, found afresh (only `answer`'s bodies are cached)."""
        question = SlotQuestion(service, visit_type, duration, lo, hi, practitioner)
        return await self._inner.find(question)

    async def answer(
        self, question: SlotQuestion, render: Render, *, asked: Asked | None = None
    ) -> bytes:
        """The finished body. `asked`, when given, is called with the calendar generation
        names and the minute the answer depends on, if the question was cacheable."""
        found = self._question(question) if self._cache is not None else None
        if self._cache is None or found is None:
            return render(await self._inner.find(question))
        digest, calendars, minute = found
        if asked is not None:
            asked(calendars, minute)
        cached, key = await self._cache.lookup(digest, calendars)
        self._cache.stats.count(CACHE_NAME, cached is not None)
        if cached is not None:
            return cached
        body = render(await self._inner.find(question))
        await self._cache.set(key, body, self._ttl)
        return body

    def _question(self, q: SlotQuestion) -> tuple[str, list[str], int] | None:
        """The question's digest (the minute included), the calendars it depends on and the
        minute; None when it is invalid: the finder raises its proper error then."""
        try:
            visit = resolve(self._catalog, q.service, q.visit_type, q.duration)
            keys = sorted(eligible(self._catalog, visit.service, q.practitioner))
        except DomainError:
            return None
        minute = int(self._clock.now().timestamp() // 60)
        parts = [q.service, q.visit_type, q.duration, q.practitioner, q.lo.isoformat()]
        digest = hashlib.sha256(json.dumps([*parts, q.hi.isoformat(), minute, keys]).encode())
        return f"{CACHE_NAME}:{digest.hexdigest()}", [f"calendar:{k}" for k in keys], minute

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

    async def calendars_changed(self, practitioners: Collection[str]) -> None:
        """A listener of the external calendars' store: these practitioners' busy time
        elsewhere changed (or stopped being confirmed), so their cached answers go, as a
        booking's do."""
        names = [f"calendar:{p}" for p in practitioners if p]
        if names and self._cache is not None:
            await self._cache.bump(names)

    async def booking_changed(self, events: Sequence[Event]) -> None:
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
