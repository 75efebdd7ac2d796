"""The analytics unit of work in memory: the raw event record, for subscriber tests, and the
availability views' stored counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from clinicflow.analytics.ports import RecordedEvent
from support.fake_tables import OnTables, Repository, TablesTransaction, over_tables
from support.fake_uow import FakeFactory, Ledger


@dataclass
class EventRows:
    """The raw event record, by event id."""

    rows: dict[str, RecordedEvent] = field(default_factory=dict)
    views: dict[tuple[date, str], int] = field(default_factory=dict)


class FakeEventLog(OnTables[EventRows]):
    async def add(self, event: RecordedEvent) -> bool:
        if event.event_id in self._t.rows:
            return False
        self._t.rows[event.event_id] = event
        return True

    async def add_many(self, events: Sequence[RecordedEvent]) -> int:
        return sum([await self.add(event) for event in events])


class FakeViewCounts(OnTables[EventRows]):
    async def add(self, counts: Mapping[tuple[date, str], int]) -> None:
        for key, n in counts.items():
            self._t.views[key] = self._t.views.get(key, 0) + n

    async def between(self, lo: date, hi: date) -> list[tuple[date, str, int]]:
        return sorted((d, s, n) for (d, s), n in self._t.views.items() if lo <= d <= hi)


class FakeAnalyticsUnitOfWork(TablesTransaction[EventRows]):
    events = Repository(FakeEventLog)
    views = Repository(FakeViewCounts)


def fake_analytics() -> tuple[
    FakeFactory[FakeAnalyticsUnitOfWork], dict[str, RecordedEvent], Ledger
]:
    uow, tables, ledger = over_tables(FakeAnalyticsUnitOfWork, EventRows())
    return uow, tables.rows, ledger
