"""The calendars' use cases: keep the busy-time store in step with the sources
(`CalendarsService`); availability and booking read it through `StoredBusy`
(`clinicflow.calendars.busy_time.service`).

Sync, per source and practitioner (`CalendarsService.sync`):
- a practitioner never fully synced, or without a cursor, or asked `full`: a snapshot of
  today → today + the clinic's longest advance booking window (one call for all of them;
  Graph's getSchedule asks for many at once), then a cursor is started (`changes(p, None)`);
- otherwise the changes since the cursor; `CursorExpired` → a snapshot, as above; a source
  with no cheap catch-up (`changes` answers None) is snapshotted each time;
- `SourceUnavailable` counts an error and backs off (domain/sync.py); a practitioner inside
  its back-off is skipped by the periodic poll.
Network calls happen outside transactions; each practitioner's answer is stored in a short
unit of work of its own, and a change to what blocks time tells the listeners (the cached
availability of that practitioner is dropped) before the use case returns.

Pushes (a webhook, a Graph change notification) arrive through `apply`, written by the
same rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from clinicflow.calendars.domain.busy import Delta, Snapshot, SyncState
from clinicflow.calendars.domain.merge import plan_delta, plan_snapshot
from clinicflow.calendars.domain.sync import (
    Backoff,
    Freshness,
    age,
    confirmed,
    due,
    failed,
    fresh,
    succeeded,
    synced,
)
from clinicflow.calendars.ports import (
    BusyFeed,
    CalendarsUnitOfWork,
    CursorExpired,
    SourceUnavailable,
)
from clinicflow.calendars.views import (
    ExternalBusy,
    ExternalDay,
    PractitionerStatus,
    SourceStatus,
    SyncOutcome,
)
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import Forbidden

log = get_logger(__name__)

Changed = Callable[[Collection[str]], Awaitable[None]]
BreakerState = Callable[[], Awaitable[str]]
Progress = Callable[[SyncOutcome], None]


class Listeners:
    """Who hears that a practitioner's external busy time changed (bootstrap adds the
    cached availability, built after this context)."""

    def __init__(self) -> None:
        self._listeners: list[Changed] = []

    def add(self, listener: Changed) -> None:
        self._listeners.append(listener)

    async def __call__(self, practitioners: Collection[str]) -> None:
        for listener in self._listeners:
            try:
                await listener(practitioners)
            except Exception:  # the store is committed; the cache's TTL ends the rest
                log.exception("calendar_listener_failed")


class CalendarsService:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[CalendarsUnitOfWork],
        clock: Clock,
        feeds: Sequence[BusyFeed],
        practitioners: Sequence[str],
        tz: ZoneInfo,
        horizon_days: int,
        freshness: Freshness,
        backoff: Backoff | None = None,
        breakers: Mapping[str, BreakerState] | None = None,
        listeners: Listeners | None = None,
    ) -> None:
        """`practitioners`: every practitioner key (the catalog's); `horizon_days`: how far
        ahead a snapshot reads (the longest advance booking window)."""
        self._uow = uow
        self._clock = clock
        self.feeds = tuple(feeds)
        self.practitioners = tuple(practitioners)
        self._tz = tz
        self._horizon = timedelta(days=horizon_days)
        self.freshness = freshness
        self._backoff = backoff or Backoff()
        self._breakers = dict(breakers or {})
        self.listeners = listeners or Listeners()

    # -- sync -----------------------------------------------------------------------------

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """What a snapshot covers: from the start of the clinic's today, `horizon` ahead
        (and a day more: a local day reaches past UTC midnight)."""
        local = now.astimezone(self._tz)
        today = local.replace(hour=0, minute=0, second=0, microsecond=0)
        start = today.astimezone(now.tzinfo)
        return start, start + self._horizon + timedelta(days=1)

    async def sync_all(
        self,
        *,
        full: bool = False,
        practitioners: Sequence[str] | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> list[SyncOutcome]:
        """Every feed, for `practitioners` (default: all); the periodic poll."""
        outcomes: list[SyncOutcome] = []
        for feed in self.feeds:
            outcomes += await self.sync(
                feed, practitioners, full=full, force=force, progress=progress
            )
        return outcomes

    def feed(self, source: str) -> BusyFeed:
        """The configured feed of `source` (as wired: behind its breaker)."""
        for feed in self.feeds:
            if feed.name == source:
                return feed
        raise KeyError(f"no calendar source {source!r} is configured")

    async def sync(
        self,
        source: str | BusyFeed,
        practitioners: Sequence[str] | None = None,
        full: bool = False,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> list[SyncOutcome]:
        """One feed (by name, or the feed: the configured one of its name is used) for
        `practitioners` (default: all it covers). `force`: ask even those inside their
        back-off (an operator's `calendars sync`)."""
        feed = self.feed(source if isinstance(source, str) else source.name)
        keys = [p for p in (practitioners or self.practitioners) if feed.covers(p)]
        if not keys:
            return []
        now = self._clock.now()
        async with self._uow.reading() as uow:
            known = {s.practitioner: s for s in await uow.states.of(keys) if s.source == feed.name}
        outcomes: list[SyncOutcome] = []

        def done(outcome: SyncOutcome) -> None:
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)

        snapshot: list[str] = []
        for p in keys:
            state = known.get(p) or SyncState(feed.name, p)
            if not force and not due(state, now):
                done(SyncOutcome(feed.name, p, "skipped"))
            elif full or not synced(state) or state.cursor is None:
                snapshot.append(p)
            else:
                try:
                    delta = await feed.changes(p, state.cursor)
                except CursorExpired:
                    log.info("calendar_cursor_expired", source=feed.name, practitioner=p)
                    snapshot.append(p)
                    continue
                except SourceUnavailable as exc:
                    done(await self._failed(feed.name, p, exc))
                    continue
                if delta is None:
                    snapshot.append(p)
                    continue
                changed = await self._store(delta, full=False, cursor=delta.next_cursor)
                done(SyncOutcome(feed.name, p, "delta", changed))
        if snapshot:
            for outcome in await self._snapshot(feed, snapshot):
                done(outcome)
        return outcomes

    async def _snapshot(self, feed: BusyFeed, keys: list[str]) -> list[SyncOutcome]:
        start, end = self.window(self._clock.now())
        try:
            snapshots = await feed.snapshot(keys, start, end)
        except SourceUnavailable as exc:
            return [await self._failed(feed.name, p, exc) for p in keys]
        by_key = {a.practitioner: a for a in snapshots if a.source == feed.name}
        outcomes = []
        for p in keys:
            answer = by_key.get(p)
            if answer is None:
                missing = SourceUnavailable(f"{feed.name} answered no snapshot for {p}")
                outcomes.append(await self._failed(feed.name, p, missing))
                continue
            cursor, started = await self._start_cursor(feed, p)
            # What the new cursor's first round listed is merged after the snapshot.
            answers: list[Snapshot | Delta] = [answer] if started is None else [answer, started]
            changed = await self._store(*answers, full=True, cursor=cursor)
            outcomes.append(SyncOutcome(feed.name, p, "full", changed))
        return outcomes

    async def _start_cursor(self, feed: BusyFeed, p: str) -> tuple[str | None, Delta | None]:
        """A cursor to follow from now on (None: the feed has none, or could not start
        one now: the next poll snapshots again)."""
        try:
            first = await feed.changes(p, None)
        except (CursorExpired, SourceUnavailable) as exc:
            log.warning(
                "calendar_cursor_not_started", source=feed.name, practitioner=p, error=str(exc)
            )
            return None, None
        if first is None:
            return None, None
        return first.next_cursor, first

    async def apply(self, answer: Snapshot | Delta) -> bool:
        """A push (webhook, change notification): stored by the merge rules. A delta keeps
        the cursor; a snapshot counts as a full sync only of its window, so it does not make
        a never-synced source synced. Whether what blocks time changed."""
        return await self._store(answer, full=False, cursor=None, keep_cursor=True)

    async def _store(
        self,
        *answers: Snapshot | Delta,
        full: bool,
        cursor: str | None,
        keep_cursor: bool = False,
    ) -> bool:
        """`answers` (one source, one practitioner) merged in order, in one transaction."""
        now = self._clock.now()
        s, p = answers[0].source, answers[0].practitioner
        budget = self.freshness.budget(s)
        changed_any = False
        async with self._uow() as uow:
            for answer in answers:
                if isinstance(answer, Snapshot):
                    ids = [i.external_id for i in answer.intervals]
                    window = (answer.window_start, answer.window_end)
                    plan = plan_snapshot(await uow.busy.held(s, p, ids, window), answer)
                else:
                    ids = [i.external_id for i in answer.upserted] + list(answer.removed)
                    plan = plan_delta(await uow.busy.held(s, p, ids), answer)
                await uow.busy.carry_out(plan, now)
                changed_any = changed_any or plan.changed
            before = await uow.states.get(s, p) or SyncState(s, p)
            after = succeeded(before, now, full=full, cursor=cursor, keep_cursor=keep_cursor)
            await uow.states.put(after)
            flipped = fresh(before, now, budget) != fresh(after, now, budget)
            if changed_any or flipped:
                uow.after_commit(f"calendars:{s}:{p}", lambda _db: self.listeners([p]))
            await uow.commit()
        return changed_any

    async def _failed(self, source: str, p: str, exc: Exception) -> SyncOutcome:
        now = self._clock.now()
        budget = self.freshness.budget(source)
        log.warning("calendar_sync_failed", source=source, practitioner=p, error=str(exc))
        async with self._uow() as uow:
            before = await uow.states.get(source, p) or SyncState(source, p)
            await uow.states.put(failed(before, now, self._backoff))
            if not fresh(before, now, budget):  # stale now: its practitioner may be unconfirmed
                uow.after_commit(f"calendars:{source}:{p}", lambda _db: self.listeners([p]))
            await uow.commit()
        return SyncOutcome(source, p, "failed", error=str(exc))

    # -- status ---------------------------------------------------------------------------

    async def external(
        self, actor: Actor, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> ExternalDay:
        """For the staff calendar: the external busy time of `practitioners` in [start, end)
        and who among them is unconfirmed. Staff only: it is the practitioners' schedule."""
        if not actor.is_staff:
            raise Forbidden("only staff see the practitioners' external calendars")
        keys = [p for p in practitioners if any(f.covers(p) for f in self.feeds)]
        if not keys:
            return ExternalDay(connected=False, blocks=(), unconfirmed=())
        async with self._uow.reading() as uow:
            intervals = await uow.busy.blocking(keys, start, end)
            states = {(s.source, s.practitioner): s for s in await uow.states.of(keys)}
        now = self._clock.now()
        unconfirmed = tuple(
            p
            for p in keys
            if not confirmed(
                [
                    (states.get((f.name, p)), self.freshness.budget(f.name))
                    for f in self.feeds
                    if f.covers(p)
                ],
                now,
            )
        )
        blocks = tuple(
            ExternalBusy(i.practitioner, i.source, i.start, i.end, i.show_as.value)
            for i in sorted(intervals, key=lambda i: (i.start, i.practitioner, i.source))
        )
        return ExternalDay(connected=True, blocks=blocks, unconfirmed=unconfirmed)

    async def status(self) -> list[PractitionerStatus]:
        """Every practitioner with a configured source, and where each source stands."""
        if not self.feeds:
            return []
        now = self._clock.now()
        async with self._uow.reading() as uow:
            states = {(s.source, s.practitioner): s for s in await uow.states.all()}
            counts = await uow.busy.counts()
        breakers = {name: await state() for name, state in self._breakers.items()}
        out = []
        for p in self.practitioners:
            sources = []
            for feed in self.feeds:
                if not feed.covers(p):
                    continue
                state = states.get((feed.name, p))
                budget = self.freshness.budget(feed.name)
                sources.append(
                    SourceStatus(
                        source=feed.name,
                        practitioner=p,
                        synced=synced(state),
                        age=age(state, now),
                        stale=not fresh(state, now, budget),
                        budget=budget,
                        consecutive_errors=state.consecutive_errors if state else 0,
                        backoff_until=state.backoff_until if state else None,
                        last_full_sync=state.last_full_sync if state else None,
                        intervals=counts.get((feed.name, p), 0),
                        breaker=breakers.get(feed.name, "none"),
                    )
                )
            if sources:
                ok = any(not s.stale for s in sources)
                out.append(PractitionerStatus(p, ok, tuple(sources)))
        return out
