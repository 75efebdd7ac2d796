"""In-memory units of work for use-case tests: no database, milliseconds a test.

`FakeTransaction` records what a use case did with its unit of work's side channels —
the events it published, the audit entries it wrote, the after-commit hooks it left, and
whether it committed — and, like the real one (`infra/unit_of_work.py`), keeps none of it
when the block ends without `commit()`. A context's fake (`support.fake_<context>`)
subclasses it and adds in-memory repositories, whose state it snapshots on enter and puts
back on a rollback (`_saved` / `_restore`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Generic, Self, TypeVar

from clinicflow.infra.audit import AuditEntry
from clinicflow.infra.outbox import Event
from clinicflow.infra.unit_of_work import AfterCommit, TransactionClosed


@dataclass
class Ledger:
    """What every committed unit of work of one fake factory left: shared, so a test sees
    the whole story across use cases."""

    published: list[Event] = field(default_factory=list)
    audited: list[tuple[AuditEntry, datetime]] = field(default_factory=list)
    hooks_run: list[str] = field(default_factory=list)
    commits: int = 0
    rollbacks: int = 0

    def types(self) -> list[str]:
        return [e.type for e in self.published]


class FakeTransaction:
    # Whether the after-commit hooks run as the block ends, as the real one runs them (here
    # with no connection); a context whose tests watch a hook's effect sets it.
    runs_hooks = False

    def __init__(self, ledger: Ledger, *, write: bool = True) -> None:
        self.ledger = ledger
        self.write = write
        self.open = False
        self.committed = False
        self._events: list[Event] = []
        self._audited: list[tuple[AuditEntry, datetime]] = []
        self._hooks: dict[str, AfterCommit] = {}
        self._before: object = None

    async def __aenter__(self) -> Self:
        self.open, self.committed = True, False
        self._events, self._audited, self._hooks = [], [], {}
        self._before = self._saved()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.open = False
        if not self.committed:
            self._restore(self._before)
            self.ledger.rollbacks += 1
            return
        self.ledger.published.extend(self._events)
        self.ledger.audited.extend(self._audited)
        self.ledger.hooks_run.extend(self._hooks)
        if self.runs_hooks:
            for hook in self._hooks.values():
                await hook(None)  # type: ignore[arg-type]

    async def commit(self) -> None:
        assert self.open, "commit outside `async with uow:`"
        assert self.write, "a reading unit of work has nothing to commit"
        self.committed = True
        self.ledger.commits += 1

    def publish(self, *events: Event) -> None:
        self._usable("publish")
        self._events.extend(events)

    def audit(self, entry: AuditEntry, now: datetime) -> None:
        self._usable("audit")
        self._audited.append((entry, now))

    def after_commit(self, name: str, hook: AfterCommit) -> None:
        self._usable("after_commit")
        self._hooks[name] = hook

    def _usable(self, what: str) -> None:
        """As the real one refuses (TransactionClosed): outside the block, after commit."""
        if not self.open or self.committed:
            raise TransactionClosed(f"{what} outside `async with uow:` or after commit()")

    async def savepoint(self, name: str) -> Callable[[], Awaitable[None]]:
        events, audited, hooks = list(self._events), list(self._audited), dict(self._hooks)
        saved = self._saved()

        async def undo() -> None:
            self._events, self._audited, self._hooks = events, audited, hooks
            self._restore(saved)

        return undo

    # A context's fake keeps its in-memory tables' state through these (deep copies).
    def _saved(self) -> object:
        return None

    def _restore(self, saved: object) -> None:
        pass


F = TypeVar("F", bound=FakeTransaction)


class FakeFactory(Generic[F]):
    """`UnitsOfWork[F]` over one shared in-memory state: `FakeFactory(lambda write: F(...))`."""

    def __init__(self, make: Callable[[bool], F]) -> None:
        self._make = make

    def __call__(self) -> F:
        return self._make(True)

    def reading(self) -> F:
        return self._make(False)
