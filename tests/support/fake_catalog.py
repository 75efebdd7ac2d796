"""The catalog's unit of work in memory: the launched services, for use-case tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from support.fake_tables import OnTables, Repository, TablesTransaction, over_tables
from support.fake_uow import FakeFactory, Ledger


@dataclass
class LaunchRows:
    """The `catalog_service_launch` table: service -> (launched_at, launched_by)."""

    rows: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    reads: int = 0  # how many times the launched set was read


class FakeLaunchRepository(OnTables[LaunchRows]):
    async def launched(self) -> frozenset[str]:
        self._t.reads += 1
        return frozenset(self._t.rows)

    async def record(self, service: str, at: datetime, by: str) -> bool:
        if service in self._t.rows:
            return False
        self._t.rows[service] = (at, by[:64])
        return True


class FakeCatalogUnitOfWork(TablesTransaction[LaunchRows]):
    kept = ("rows",)  # not the count of reads

    launches = Repository(FakeLaunchRepository)


def fake_catalog() -> tuple[FakeFactory[FakeCatalogUnitOfWork], LaunchRows, Ledger]:
    """A factory of catalog units of work over one in-memory table, and what they leave."""
    return over_tables(FakeCatalogUnitOfWork, LaunchRows())
