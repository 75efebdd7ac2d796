"""The parts every in-memory repository fake shares (fake_notifications, fake_webhooks): a
unit of work over a dataclass of tables that puts the tables back on a rollback, and
repositories that read and write those tables."""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Generic, TypeVar

from support.fake_uow import FakeTransaction, Ledger

T = TypeVar("T")


class OnTables(Generic[T]):
    """A repository over the fake's tables (`self._t`)."""

    def __init__(self, tables: T) -> None:
        self._t = tables


class TablesTransaction(FakeTransaction, Generic[T]):
    """`kept` names the tables (dicts or lists) a rollback puts back as they were when the
    block opened; they are restored in place, so the repositories keep their references."""

    kept: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ledger: Ledger, tables: T, *, write: bool = True) -> None:
        super().__init__(ledger, write=write)
        self.tables = tables

    def _saved(self) -> object:
        return copy.deepcopy({name: getattr(self.tables, name) for name in self.kept})

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, dict)
        rows: dict[str, Any]
        for name, rows in copy.deepcopy(saved).items():
            table = getattr(self.tables, name)
            if isinstance(table, dict):
                table.clear()
                table.update(rows)
            else:
                table[:] = rows
