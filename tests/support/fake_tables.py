"""The parts every in-memory repository fake shares: a unit of work over a dataclass of
tables (`TablesTransaction`) that puts the tables back on a rollback, repositories that read
and write those tables (`OnTables`), the unit of work's attribute that gives one
(`Repository`), and a factory of such units of work over one set of tables (`over_tables`)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, overload

from clinicflow.infra.unit_of_work import TransactionClosed
from support.fake_uow import FakeFactory, FakeTransaction, Ledger

T = TypeVar("T")
R = TypeVar("R")
U = TypeVar("U", bound=FakeTransaction)


class OnTables(Generic[T]):
    """A repository over the fake's tables (`self._t`)."""

    def __init__(self, tables: T) -> None:
        self._t = tables


class TablesTransaction(FakeTransaction, Generic[T]):
    """`kept` names the tables (dicts, lists or sets) a rollback puts back as they were when
    the block opened (None: every field of the tables' dataclass; the others are what a test
    sets up or injects, which no rollback undoes); they are restored in place, so the
    repositories and the tests keep their references."""

    kept: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, ledger: Ledger, tables: T, *, write: bool = True) -> None:
        super().__init__(ledger, write=write)
        self.tables = tables
        self.repositories: dict[str, object] = {}  # made so far, by attribute

    def _saved(self) -> object:
        names = self.kept
        if names is None:
            names = tuple(f.name for f in dataclasses.fields(self.tables))  # type: ignore[arg-type]
        return copy.deepcopy({name: getattr(self.tables, name) for name in names})

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, dict)
        rows: Any
        for name, rows in copy.deepcopy(saved).items():
            table = getattr(self.tables, name)
            if isinstance(table, list):
                table[:] = rows
            else:
                table.clear()
                table.update(rows)


class Repository(Generic[T, R]):
    """A unit of work's repository over its tables, declared as a class attribute
    (`orders = Repository(FakeOrders)`). As the real ones, it is there only inside
    `async with uow:` (TransactionClosed outside)."""

    def __init__(self, make: Callable[[T], R]) -> None:
        self._make = make
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Repository[T, R]: ...
    @overload
    def __get__(self, uow: TablesTransaction[T], owner: type) -> R: ...
    def __get__(self, uow: TablesTransaction[T] | None, owner: type) -> Repository[T, R] | R:
        if uow is None:
            return self
        if not uow.open:
            raise TransactionClosed(f"{self._name} outside `async with uow:`")
        if self._name not in uow.repositories:
            uow.repositories[self._name] = self._make(uow.tables)
        made: R = uow.repositories[self._name]  # type: ignore[assignment]
        return made


def over_tables(make: Callable[..., U], tables: T) -> tuple[FakeFactory[U], T, Ledger]:
    """A factory of units of work `make(ledger, tables, write=…)` over one set of tables, the
    tables, and the ledger of what the committed ones left."""
    ledger = Ledger()
    return FakeFactory(lambda write: make(ledger, tables, write=write)), tables, ledger
