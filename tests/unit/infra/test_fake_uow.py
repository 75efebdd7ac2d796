"""The in-memory unit of work the use-case tests run on (`support.fake_uow`) is a
`Transaction` and behaves like the real one: nothing kept without a commit, and a
savepoint's undo puts back what came after it.

That it is a `Transaction` is a typed assignment (`as_transaction`, `factory`), which mypy
checks: `MYPYPATH=src:tests mypy --strict tests/unit/infra/test_fake_uow.py`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clinicflow.infra.audit import AuditEntry
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import Event
from clinicflow.infra.unit_of_work import Transaction, UnitsOfWork
from support.fake_uow import FakeFactory, FakeTransaction, Ledger

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def as_transaction(fake: FakeTransaction) -> Transaction:
    """mypy checks here that a FakeTransaction is a `Transaction` (a structural protocol)."""
    return fake


class Counting(FakeTransaction):
    """A context's fake, with in-memory state of its own."""

    def __init__(self, ledger: Ledger, rows: list[str], *, write: bool = True) -> None:
        super().__init__(ledger, write=write)
        self.rows = rows

    def _saved(self) -> object:
        return list(self.rows)

    def _restore(self, saved: object) -> None:
        assert isinstance(saved, list)
        self.rows[:] = saved


def factory(rows: list[str]) -> tuple[UnitsOfWork[Counting], Ledger]:
    ledger = Ledger()
    units: UnitsOfWork[Counting] = FakeFactory(lambda write: Counting(ledger, rows, write=write))
    return units, ledger


def event(n: int) -> Event:
    return Event("thing.happened", "thing", f"t-{n}", NOW, {}, event_id=f"event-{n}")


ENTRY = AuditEntry("user", "u-1", "front_desk", "read", "patient", "p-1")


async def hook(_: Database) -> None:
    return None


async def test_leaving_without_commit_keeps_nothing_and_puts_the_state_back() -> None:
    rows = ["before"]
    units, ledger = factory(rows)

    async def failing() -> None:
        async with units() as uow:
            as_transaction(uow).publish(event(1))
            uow.audit(ENTRY, NOW)
            uow.after_commit("work", hook)
            uow.rows.append("during")
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        await failing()
    async with units() as uow:  # and leaving normally without commit
        uow.publish(event(2))
        uow.rows.append("during")
    assert rows == ["before"]
    assert (ledger.published, ledger.audited, ledger.hooks_run) == ([], [], [])
    assert (ledger.commits, ledger.rollbacks) == (0, 2)


async def test_a_commit_keeps_the_events_entries_hooks_and_state() -> None:
    rows: list[str] = []
    units, ledger = factory(rows)
    async with units() as uow:
        uow.publish(event(1), event(2))
        uow.audit(ENTRY, NOW)
        uow.after_commit("work", hook)
        uow.after_commit("work", hook)  # one name, once
        uow.rows.append("kept")
        await uow.commit()
    assert ledger.types() == ["thing.happened", "thing.happened"]
    assert [e.event_id for e in ledger.published] == ["event-1", "event-2"]
    assert ledger.audited == [(ENTRY, NOW)]
    assert ledger.hooks_run == ["work"]
    assert (rows, ledger.commits, ledger.rollbacks) == (["kept"], 1, 0)


async def test_a_savepoints_undo_drops_what_came_after_it() -> None:
    rows: list[str] = []
    units, ledger = factory(rows)
    async with units() as uow:
        uow.publish(event(1))
        uow.rows.append("before")
        undo = await uow.savepoint("member_1")
        uow.publish(event(2))
        uow.audit(ENTRY, NOW)
        uow.after_commit("after", hook)
        uow.rows.append("after")
        await undo()
        await uow.commit()
    assert [e.event_id for e in ledger.published] == ["event-1"]
    assert (ledger.audited, ledger.hooks_run, rows) == ([], [], ["before"])


async def test_a_reading_fake_refuses_to_commit() -> None:
    units, _ = factory([])
    async with units.reading() as uow:
        with pytest.raises(AssertionError, match="nothing to commit"):
            await uow.commit()
