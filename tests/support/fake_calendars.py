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
from support.fake_uow import FakeFactory, FakeTransaction, Ledger


@dataclass
class CalendarRows:
    busy: dict[Key, BusyInterval] = field(default_factory=dict)
    fetched: dict[Key, datetime] = field(default_factory=dict)
    states: dict[tuple[str, str], SyncState] = field(default_factory=dict)
    # (source, external id) of clinicflow's own bookings as a source shows them (the SQL
    # store finds them among Calendly's page bookings being imported or imported)
    own: set[tuple[str, str]] = field(default_factory=set)


class FakeBusyStore:
    def __init__(self, rows: CalendarRows) -> None:
        self._rows = rows

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
            for (s, p, eid), i in self._rows.busy.items()
            if (s, p) == (source, practitioner)
            and (eid in wanted or (window is not None and overlaps(i, *window)))
        ]

    async def carry_out(self, plan: Plan, fetched_at: datetime) -> None:
        self._rows.busy = apply(self._rows.busy, plan)
        for interval in plan.upsert:
            self._rows.fetched[(interval.source, interval.practitioner, interval.external_id)] = (
                fetched_at
            )

    async def blocking(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> list[BusyInterval]:
        return [
            i
            for i in self._rows.busy.values()
            if i.practitioner in practitioners
            and i.show_as.blocks
            and overlaps(i, start, end)
            and (i.source, i.external_id) not in self._rows.own
        ]

    async def blocking_minutes(
        self, practitioners: Sequence[str], start: int, end: int
    ) -> list[tuple[str, int, int]]:
        found = await self.blocking(practitioners, from_minute(start), from_minute(end))
        return [(i.practitioner, to_minute(i.start), to_minute_ceil(i.end)) for i in found]

    async def own(self, source: str, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if (source, i) in self._rows.own}

    async def counts(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for s, p, _ in self._rows.busy:
            out[(s, p)] = out.get((s, p), 0) + 1
        return out


class FakeSyncStates:
    def __init__(self, rows: CalendarRows) -> None:
        self._rows = rows

    async def get(self, source: str, practitioner: str) -> SyncState | None:
        return self._rows.states.get((source, practitioner))

    async def of(self, practitioners: Sequence[str]) -> list[SyncState]:
        return [s for s in self._rows.states.values() if s.practitioner in practitioners]

    async def all(self) -> list[SyncState]:
        return sorted(self._rows.states.values(), key=lambda s: (s.source, s.practitioner))

    async def put(self, state: SyncState) -> None:
        self._rows.states[(state.source, state.practitioner)] = replace(state)


class FakeCalendarsUnitOfWork(FakeTransaction):
    runs_hooks = True  # the listeners that drop cached availability, as the real one runs them

    def __init__(self, ledger: Ledger, rows: CalendarRows, *, write: bool = True) -> None:
        super().__init__(ledger, write=write)
        self._rows = rows

    @property
    def busy(self) -> FakeBusyStore:
        assert self.open, "busy outside `async with uow:`"
        return FakeBusyStore(self._rows)

    @property
    def states(self) -> FakeSyncStates:
        assert self.open, "states outside `async with uow:`"
        return FakeSyncStates(self._rows)

    def _saved(self) -> object:
        return (dict(self._rows.busy), dict(self._rows.fetched), dict(self._rows.states))

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, tuple)
        self._rows.busy, self._rows.fetched, self._rows.states = saved


def fake_calendars(
    rows: CalendarRows | None = None,
) -> tuple[FakeFactory[FakeCalendarsUnitOfWork], CalendarRows, Ledger]:
    table = rows if rows is not None else CalendarRows()
    ledger = Ledger()
    factory = FakeFactory(lambda write: FakeCalendarsUnitOfWork(ledger, table, write=write))
    return factory, table, ledger


# -- the practitioners' own ICS feeds (calendars/feeds/)


@dataclass
class FeedRows:
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # digest, created
    visits: dict[str, list[FeedVisit]] = field(default_factory=dict)  # by practitioner
    asked: list[tuple[str, datetime, datetime, datetime]] = field(default_factory=list)


class FakeFeedTokens:
    def __init__(self, rows: FeedRows) -> None:
        self._rows = rows

    async def digest(self, practitioner: str) -> str | None:
        found = self._rows.tokens.get(practitioner)
        return None if found is None else found[0]

    async def put(self, practitioner: str, digest: str, now: datetime) -> bool:
        replaced = practitioner in self._rows.tokens
        self._rows.tokens[practitioner] = (digest, now)
        return replaced

    async def remove(self, practitioner: str) -> bool:
        return self._rows.tokens.pop(practitioner, None) is not None


class FakeFeedBookings:
    """Booking's visits as `practitioner_calendar` reads them (booking/queries.py)."""

    def __init__(self, rows: FeedRows) -> None:
        self._rows = rows

    async def of(
        self, practitioner: str, start: datetime, end: datetime, cancelled_since: datetime
    ) -> list[FeedVisit]:
        self._rows.asked.append((practitioner, start, end, cancelled_since))
        return sorted(
            (
                v
                for v in self._rows.visits.get(practitioner, [])
                if v.start < end
                and v.end > start
                and (not v.cancelled or v.updated_at >= cancelled_since)
            ),
            key=lambda v: (v.start, v.booking_id),
        )


class FakeFeedsUnitOfWork(FakeTransaction):
    def __init__(self, ledger: Ledger, rows: FeedRows, *, write: bool = True) -> None:
        super().__init__(ledger, write=write)
        self._rows = rows

    @property
    def tokens(self) -> FakeFeedTokens:
        assert self.open, "tokens outside `async with uow:`"
        return FakeFeedTokens(self._rows)

    @property
    def bookings(self) -> FakeFeedBookings:
        assert self.open, "bookings outside `async with uow:`"
        return FakeFeedBookings(self._rows)

    def _saved(self) -> object:
        return dict(self._rows.tokens)

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, dict)
        self._rows.tokens = saved


def fake_feeds(
    rows: FeedRows | None = None,
) -> tuple[FakeFactory[FakeFeedsUnitOfWork], FeedRows, Ledger]:
    table = rows if rows is not None else FeedRows()
    ledger = Ledger()
    factory = FakeFactory(lambda write: FakeFeedsUnitOfWork(ledger, table, write=write))
    return factory, table, ledger
