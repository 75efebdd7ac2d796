"""The flags' unit of work in memory, for use-case tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from clinicflow.flags.views import FlagView
from support.fake_tables import OnTables, Repository, TablesTransaction, over_tables
from support.fake_uow import FakeFactory, Ledger


@dataclass
class FlagRows:
    """The `flags_flag` table, by key."""

    rows: dict[str, FlagView] = field(default_factory=dict)
    reads: int = 0


class FakeFlagRepository(OnTables[FlagRows]):
    async def all(self) -> list[FlagView]:
        self._t.reads += 1
        return list(self._t.rows.values())

    async def put(self, flag: FlagView) -> None:
        self._t.rows[flag.key] = flag


class FakeFlagsUnitOfWork(TablesTransaction[FlagRows]):
    kept = ("rows",)  # not the count of reads

    flags = Repository(FakeFlagRepository)


def fake_flags(
    table: FlagRows | None = None,
) -> tuple[FakeFactory[FakeFlagsUnitOfWork], FlagRows, Ledger]:
    """A factory of flags units of work over one in-memory table (pass one table to two
    factories for two replicas), and what they leave."""
    return over_tables(FakeFlagsUnitOfWork, table if table is not None else FlagRows())
