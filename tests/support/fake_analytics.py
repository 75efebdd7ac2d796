"""The analytics unit of work in memory: the raw event record, for subscriber tests."""

from __future__ import annotations

from clinicflow.analytics.ports import RecordedEvent
from support.fake_uow import FakeFactory, FakeTransaction, Ledger


class FakeEventLog:
    def __init__(self, rows: dict[str, RecordedEvent]) -> None:
        self._rows = rows

    async def add(self, event: RecordedEvent) -> bool:
        if event.event_id in self._rows:
            return False
        self._rows[event.event_id] = event
        return True


class FakeAnalyticsUnitOfWork(FakeTransaction):
    def __init__(
        self, ledger: Ledger, rows: dict[str, RecordedEvent], *, write: bool = True
    ) -> None:
        super().__init__(ledger, write=write)
        self.rows = rows

    @property
    def events(self) -> FakeEventLog:
        assert self.open, "events outside `async with uow:`"
        return FakeEventLog(self.rows)

    def _saved(self) -> object:
        return dict(self.rows)

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, dict)
        self.rows.clear()
        self.rows.update(saved)


def fake_analytics() -> tuple[
    FakeFactory[FakeAnalyticsUnitOfWork], dict[str, RecordedEvent], Ledger
]:
    rows: dict[str, RecordedEvent] = {}
    ledger = Ledger()
    factory = FakeFactory(lambda write: FakeAnalyticsUnitOfWork(ledger, rows, write=write))
    return factory, rows, ledger
