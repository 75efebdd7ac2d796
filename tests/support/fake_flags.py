"""The flags' unit of work in memory, for use-case tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from clinicflow.flags.views import FlagView
from support.fake_uow import FakeFactory, FakeTransaction, Ledger


@dataclass
class FlagRows:
    """The `flags_flag` table, by key."""

    rows: dict[str, FlagView] = field(default_factory=dict)
    reads: int = 0


class FakeFlagRepository:
    def __init__(self, table: FlagRows) -> None:
        self._table = table

    async def all(self) -> list[FlagView]:
        self._table.reads += 1
        return list(self._table.rows.values())

    async def put(self, flag: FlagView) -> None:
        self._table.rows[flag.key] = flag


class FakeFlagsUnitOfWork(FakeTransaction):
    def __init__(self, ledger: Ledger, table: FlagRows, *, write: bool = True) -> None:
        super().__init__(ledger, write=write)
        self._table = table

    @property
    def flags(self) -> FakeFlagRepository:
        assert self.open, "flags outside `async with uow:`"
        return FakeFlagRepository(self._table)

    def _saved(self) -> object:
        return dict(self._table.rows)

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, dict)
        self._table.rows = saved


def fake_flags(
    table: FlagRows | None = None,
) -> tuple[FakeFactory[FakeFlagsUnitOfWork], FlagRows, Ledger]:
    """A factory of flags units of work over one in-memory table (pass one table to two
    factories for two replicas), and what they leave."""
    rows = table if table is not None else FlagRows()
    ledger = Ledger()
    factory = FakeFactory(lambda write: FakeFlagsUnitOfWork(ledger, rows, write=write))
    return factory, rows, ledger
