"""The analytics unit of work in memory: the raw event record, for subscriber tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from clinicflow.analytics.ports import RecordedEvent
from support.fake_tables import OnTables, Repository, TablesTransaction, over_tables
from support.fake_uow import FakeFactory, Ledger


@dataclass
class EventRows:
    """The raw event record, by event id."""

    rows: dict[str, RecordedEvent] = field(default_factory=dict)


class FakeEventLog(OnTables[EventRows]):
    async def add(self, event: RecordedEvent) -> bool:
        if event.event_id in self._t.rows:
            return False
        self._t.rows[event.event_id] = event
        return True

    async def add_many(self, events: Sequence[RecordedEvent]) -> int:
        return sum([await self.add(event) for event in events])


class FakeAnalyticsUnitOfWork(TablesTransaction[EventRows]):
    events = Repository(FakeEventLog)


def fake_analytics() -> tuple[
    FakeFactory[FakeAnalyticsUnitOfWork], dict[str, RecordedEvent], Ledger
]:
    uow, tables, ledger = over_tables(FakeAnalyticsUnitOfWork, EventRows())
    return uow, tables.rows, ledger
