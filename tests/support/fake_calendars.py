"""The calendars' unit of work in memory, for use-case tests: the busy store and the sync
states as dicts, written by the same `Plan`s the SQL repository carries out; and the
practitioners' feeds' unit of work (tokens, and booking's visits as the feed reads them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from clinicflow.calendars.domain.busy import BusyInterval, SyncState
from clinicflow.calendars.domain.merge import Key, Plan, apply, overlaps
from clinicflow.calendars.feeds.ports import FeedVisit
from clinicflow.shared.minutes import from_minute, to_minute, to_minute_ceil
from support.fake_tables import OnTables, Repository, TablesTransaction, over_tables
from support.fake_uow import FakeFactory, Ledger


@dataclass
class CalendarRows:
    busy: dict[Key, BusyInterval] = field(default_factory=dict)
    fetched: dict[Key, datetime] = field(default_factory=dict)
    states: dict[tuple[str, str], SyncState] = field(default_factory=dict)
    # (source, external id) of clinicflow's own bookings as a source shows them (the SQL
    # store finds them among Calendly's page bookings being imported or imported)
    own: set[tuple[str, str]] = field(default_factory=set)


class FakeBusyStore(OnTables[CalendarRows]):
    async def held(
        self,
        source: str,
        practitioner: str,
        ids: Sequence[str],
        window: tuple[datetime, datetime] | None = None,
    ) -> list[BusyInterval]:
        wanted = set(ids)
        return [
            i
            for (s, p, eid), i in self._t.busy.items()
            if (s, p) == (source, practitioner)
            and (eid in wanted or (window is not None and overlaps(i, *window)))
        ]

    async def carry_out(self, plan: Plan, fetched_at: datetime) -> None:
        self._t.busy = apply(self._t.busy, plan)
        for interval in plan.upsert:
            self._t.fetched[(interval.source, interval.practitioner, interval.external_id)] = (
                fetched_at
            )

    async def blocking(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> list[BusyInterval]:
        return [
            i
            for i in self._t.busy.values()
            if i.practitioner in practitioners
            and i.show_as.blocks
            and overlaps(i, start, end)
            and (i.source, i.external_id) not in self._t.own
        ]

    async def blocking_minutes(
        self, practitioners: Sequence[str], start: int, end: int
    ) -> list[tuple[str, int, int]]:
        found = await self.blocking(practitioners, from_minute(start), from_minute(end))
        return [(i.practitioner, to_minute(i.start), to_minute_ceil(i.end)) for i in found]

    async def own(self, source: str, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if (source, i) in self._t.own}

    async def counts(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for s, p, _ in self._t.busy:
            out[(s, p)] = out.get((s, p), 0) + 1
        return out


class FakeSyncStates(OnTables[CalendarRows]):
    async def get(self, source: str, practitioner: str) -> SyncState | None:
        return self._t.states.get((source, practitioner))

    async def of(self, practitioners: Sequence[str]) -> list[SyncState]:
        return [s for s in self._t.states.values() if s.practitioner in practitioners]

    async def all(self) -> list[SyncState]:
        return sorted(self._t.states.values(), key=lambda s: (s.source, s.practitioner))

    async def put(self, state: SyncState) -> None:
        self._t.states[(state.source, state.practitioner)] = replace(state)


class FakeCalendarsUnitOfWork(TablesTransaction[CalendarRows]):
    runs_hooks = True  # the listeners that drop cached availability, as the real one runs them
    kept = ("busy", "fetched", "states")  # not `own`, which a test sets up

    busy = Repository(FakeBusyStore)
    states = Repository(FakeSyncStates)


def fake_calendars(
    rows: CalendarRows | None = None,
) -> tuple[FakeFactory[FakeCalendarsUnitOfWork], CalendarRows, Ledger]:
    return over_tables(FakeCalendarsUnitOfWork, rows if rows is not None else CalendarRows())


# -- the practitioners' own ICS feeds (calendars/feeds/)


@dataclass
class FeedRows:
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # digest, created
    visits: dict[str, list[FeedVisit]] = field(default_factory=dict)  # by practitioner
    asked: list[tuple[str, datetime, datetime, datetime]] = field(default_factory=list)


class FakeFeedTokens(OnTables[FeedRows]):
    async def digest(self, practitioner: str) -> str | None:
        found = self._t.tokens.get(practitioner)
        return None if found is None else found[0]

    async def put(self, practitioner: str, digest: str, now: datetime) -> bool:
        replaced = practitioner in self._t.tokens
        self._t.tokens[practitioner] = (digest, now)
        return replaced

    async def remove(self, practitioner: str) -> bool:
        return self._t.tokens.pop(practitioner, None) is not None


class FakeFeedBookings(OnTables[FeedRows]):
    """Booking's visits as `practitioner_calendar` reads them (booking/queries.py)."""

    async def of(
        self, practitioner: str, start: datetime, end: datetime, cancelled_since: datetime
    ) -> list[FeedVisit]:
        self._t.asked.append((practitioner, start, end, cancelled_since))
        return sorted(
            (
                v
                for v in self._t.visits.get(practitioner, [])
                if v.start < end
                and v.end > start
                and (not v.cancelled or v.updated_at >= cancelled_since)
            ),
            key=lambda v: (v.start, v.booking_id),
        )


class FakeFeedsUnitOfWork(TablesTransaction[FeedRows]):
    kept = ("tokens",)  # not booking's visits, which a test sets up, nor what was asked

    tokens = Repository(FakeFeedTokens)
    bookings = Repository(FakeFeedBookings)


def fake_feeds(
    rows: FeedRows | None = None,
) -> tuple[FakeFactory[FakeFeedsUnitOfWork], FeedRows, Ledger]:
    return over_tables(FakeFeedsUnitOfWork, rows if rows is not None else FeedRows())
