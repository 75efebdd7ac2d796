"""Booking's `CalendarSource` over the busy-time store (`StoredBusy`): what availability
reads of each practitioner's external calendars, and the live check of the chosen
practitioner's sources at booking time. The store itself is kept by the sync engine
(`clinicflow.calendars.service.CalendarsService`), which also stores what a live check found.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence

from clinicflow.calendars.domain.busy import BusyInterval, Delta, SyncState
from clinicflow.calendars.domain.merge import coalesce, overlaps
from clinicflow.calendars.domain.sync import confirmed
from clinicflow.calendars.ports import BusyFeed, CalendarsUnitOfWork, SourceUnavailable
from clinicflow.calendars.service import CalendarsService
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.shared.minutes import from_minute, to_minute, to_minute_ceil

log = get_logger(__name__)

Interval = tuple[int, int]  # epoch minutes, booking's `Interval`


class StoredBusy:
    """Booking's `CalendarSource` over the store: each practitioner's busy time from every
    external source, and at booking time a live check of the chosen one's sources.

    A practitioner whose every configured source is stale (down beyond its budget, or never
    synced) is *unconfirmed*: the whole window reads as busy, so they are not offered. (A
    stale source's intervals still block: what was known stays known.)
    """

    name = "external"

    def __init__(
        self,
        *,
        uow: UnitsOfWork[CalendarsUnitOfWork],
        clock: Clock,
        service: CalendarsService,
        live_timeout: float = 1.5,
        states_ttl: float = 5.0,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._service = service
        self._live_timeout = live_timeout
        self._pending: set[asyncio.Task[None]] = set()
        # The sources' sync states, read at most every `states_ttl` seconds (by the clock):
        # every question needs them, they change at each sync, and a few seconds of lag is
        # nothing against a staleness budget of minutes. A flip in freshness, or a change of
        # busy time, in this process drops them at once.
        self._states_ttl = states_ttl
        self._states: dict[tuple[str, str], SyncState] | None = None
        self._states_read = 0.0
        service.listeners.add(self._forget_states)

    def _feeds(self, practitioner: str) -> list[BusyFeed]:
        return [f for f in self._service.feeds if f.covers(practitioner)]

    async def busy(
        self, practitioners: Sequence[str], window: Interval
    ) -> Mapping[str, Sequence[Interval]]:
        keys = [p for p in practitioners if self._feeds(p)]
        if not keys:
            return {}
        async with self._uow.reading() as uow:
            spans = await uow.busy.blocking_minutes(keys, window[0], window[1])
            now = self._clock.now()
            states = self._states
            if states is None or abs(now.timestamp() - self._states_read) > self._states_ttl:
                self._states_read = now.timestamp()
                states = {(s.source, s.practitioner): s for s in await uow.states.all()}
                self._states = states
        freshness = self._service.freshness
        found: dict[str, list[Interval]] = {p: [] for p in keys}
        for p, lo, hi in spans:
            found[p].append((lo, hi))
        out: dict[str, Sequence[Interval]] = {}
        for p in keys:
            given = [(states.get((f.name, p)), freshness.budget(f.name)) for f in self._feeds(p)]
            out[p] = [window] if not confirmed(given, now) else coalesce(found[p])
        return out

    async def _forget_states(self, _practitioners: Collection[str]) -> None:
        self._states = None

    async def confirm(self, practitioner: str, window: Interval) -> Sequence[Interval]:
        """The chosen practitioner's busy time in `window` as their sources say it now,
        each asked at once with `live_timeout`; a source that fails or is too slow is not
        waited for (the store already said free). What it finds is stored (after the
        booking's transaction: a task of its own)."""
        feeds = self._feeds(practitioner)
        if not feeds:
            return ()
        lo, hi = from_minute(window[0]), from_minute(window[1])

        async def ask(feed: BusyFeed) -> tuple[BusyFeed, Sequence[BusyInterval]]:
            try:
                async with asyncio.timeout(self._live_timeout):
                    return feed, await feed.live(practitioner, lo, hi)
            except (SourceUnavailable, TimeoutError) as exc:
                log.warning(
                    "calendar_live_check_failed", source=feed.name, error=str(exc) or "timeout"
                )
                return feed, ()

        answers = await asyncio.gather(*(ask(f) for f in feeds))
        found: list[Interval] = []
        for feed, intervals in answers:
            blocking = tuple(
                i
                for i in intervals
                if i.show_as.blocks and i.practitioner == practitioner and overlaps(i, lo, hi)
            )
            if not blocking:
                continue
            # A page booking being imported meets its own Calendly event here: not a conflict.
            async with self._uow.reading() as uow:
                own = await uow.busy.own(feed.name, [i.external_id for i in blocking])
            blocking = tuple(i for i in blocking if i.external_id not in own)
            if not blocking:
                continue
            found += [(to_minute(i.start), to_minute_ceil(i.end)) for i in blocking]
            self._later(Delta(feed.name, practitioner, upserted=blocking))
        return sorted(found)

    def _later(self, delta: Delta) -> None:
        async def store() -> None:
            try:
                await self._service.apply(delta)
            except Exception:
                log.exception("calendar_live_store_failed", source=delta.source)

        task = asyncio.create_task(store())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settled(self) -> None:
        """Until what live checks found is stored (tests; shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending))
