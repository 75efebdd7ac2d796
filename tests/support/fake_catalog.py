"""The catalog's unit of work in memory: the launched services, for use-case tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from support.fake_uow import FakeFactory, FakeTransaction, Ledger


@dataclass
class LaunchRows:
    """The `catalog_service_launch` table: service -> (launched_at, launched_by)."""

    rows: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    reads: int = 0  # how many times the launched set was read


class FakeLaunchRepository:
    def __init__(self, table: LaunchRows) -> None:
        self._table = table

    async def launched(self) -> frozenset[str]:
        self._table.reads += 1
        return frozenset(self._table.rows)

    async def record(self, service: str, at: datetime, by: str) -> bool:
        if service in self._table.rows:
            return False
        self._table.rows[service] = (at, by[:64])
        return True


class FakeCatalogUnitOfWork(FakeTransaction):
    def __init__(self, ledger: Ledger, table: LaunchRows, *, write: bool = True) -> None:
        super().__init__(ledger, write=write)
        self._table = table

    @property
    def launches(self) -> FakeLaunchRepository:
        assert self.open, "launches outside `async with uow:`"
        return FakeLaunchRepository(self._table)

    def _saved(self) -> object:
        return dict(self._table.rows)

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, dict)
        self._table.rows = saved


def fake_catalog(
    table: LaunchRows | None = None,
) -> tuple[FakeFactory[FakeCatalogUnitOfWork], LaunchRows, Ledger]:
    """A factory of catalog units of work over one in-memory table, and what they leave."""
    rows = table if table is not None else LaunchRows()
    ledger = Ledger()
    factory = FakeFactory(lambda write: FakeCatalogUnitOfWork(ledger, rows, write=write))
    return factory, rows, ledger
