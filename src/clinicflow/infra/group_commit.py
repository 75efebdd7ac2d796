"""Group commit: concurrent writes of one kind share one transaction.

A booking is a dozen short statements; on a busy server the transaction's BEGIN and COMMIT
and the audit seal after it (one more short transaction) cost as much again, per booking.
`GroupCommit(units).run(steps, alone)` queues `steps(uow)`; a few drain tasks take whatever
is queued and run those steps one after the other in one unit of work (`units()`, a write),
which they then commit, so a batch of k pays for one BEGIN, one COMMIT and one seal. Each
step runs in its caller's context (its trace, its log context), sees every committed write
and the steps before it in its batch, and answers its caller only after the commit and the
commit listeners (the cache is dropped before any answer leaves, as for a single write).

A member that fails does not sink its batch. Each member after the first runs under a
savepoint (`uow.savepoint`: one round trip, no RELEASE); when it raises, the batch rolls
back to that savepoint — its rows, buffered events, audit entries and the unit of work's own
state (the slot locks it holds) go, the others' stay — and, after the commit, its caller
gets its own answer: a domain error (say 409 `slot_unavailable`, because an earlier member
took the slot) is raised where it waits; an exception the batch was told to `defer` (the
booking's `SlotContended`: another transaction is placing a visit at the same
practitioner's time) sends it back to the queue's head for the next batch; any other error
runs it `alone()` — exactly the path it takes without batching. When the first
member fails, nothing else has run yet: the transaction is rolled back, the first gets its
answer (or runs alone) and the rest go back to the queue. When the commit itself fails,
every member runs alone. A lone caller in the queue takes the alone path directly.

A caller that has gone (its request cancelled: client disconnected, deadline passed) is
skipped: nothing is written for it.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import Transaction, UnitsOfWork
from clinicflow.shared.errors import DomainError

T = TypeVar("T")
U = TypeVar("U", bound=Transaction)
log = get_logger(__name__)


@dataclass(slots=True)
class _Ask(Generic[U, T]):
    steps: Callable[[U], Coroutine[Any, Any, T]]
    alone: Callable[[], Coroutine[Any, Any, T]]
    context: contextvars.Context
    answer: asyncio.Future[T]


class _FirstFailed(Exception):
    def __init__(self, ask: _Ask[Any, Any], cause: Exception) -> None:
        super().__init__(type(cause).__name__)
        self.ask = ask
        self.cause = cause


class GroupCommit(Generic[U]):
    def __init__(
        self,
        units: UnitsOfWork[U],
        *,
        max_batch: int = 16,
        drains: int = 2,
        defer: tuple[type[Exception], ...] = (),
    ) -> None:
        """`drains`: batches in flight at once in this process (each holds a connection).
        `defer`: exceptions by which a member asks to be run in a later batch."""
        self._units = units
        self._max = max_batch
        self._drains = drains
        self._defer = defer
        self._queue: list[_Ask[U, Any]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()  # the drains, referenced while they run

    async def run(
        self,
        steps: Callable[[U], Coroutine[Any, Any, T]],
        alone: Callable[[], Coroutine[Any, Any, T]],
    ) -> T:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        ask = _Ask(steps, alone, contextvars.copy_context(), answer)
        self._queue.append(ask)
        if self._running < self._drains:
            self._running += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await answer  # cancelled with the request: the drain then skips it

    async def _drain(self) -> None:
        batch: list[_Ask[U, Any]] = []
        try:
            while self._queue:
                waiting = [ask for ask in self._queue if not ask.answer.done()]
                batch, self._queue = waiting[: self._max], waiting[self._max :]
                if len(batch) == 1:
                    await self._alone(batch[0])
                elif batch:
                    self._queue[:0] = await self._together(batch)
        finally:
            self._running -= 1
            for ask in batch:  # the drain itself was cancelled (shutdown): nobody waits forever
                if not ask.answer.done():
                    ask.answer.cancel()

    async def _together(self, batch: list[_Ask[U, Any]]) -> list[_Ask[U, Any]]:
        """Runs `batch` in one transaction; the members to queue again."""
        answers: list[tuple[_Ask[U, Any], Any, bool]] = []  # (ask, result or error, is_error)
        later: list[_Ask[U, Any]] = []
        alone: list[_Ask[U, Any]] = []
        try:
            async with self._units() as uow:
                for n, ask in enumerate(batch):
                    if ask.answer.done():
                        continue
                    first = not (answers or later or alone)
                    undo = None if first else await uow.savepoint(f"member_{n}")
                    try:
                        # In the caller's context: its spans, log lines and outbox traceparent.
                        task = asyncio.create_task(ask.steps(uow), context=ask.context)
                        answers.append((ask, await task, False))
                    except Exception as exc:
                        if undo is None:
                            raise _FirstFailed(ask, exc) from exc
                        await undo()
                        self._sort(ask, exc, answers, later, alone)
                await uow.commit()
        except _FirstFailed as failed:
            answers, later, alone = [], [], []
            self._sort(failed.ask, failed.cause, answers, later, alone)
            rest = [ask for ask in batch if ask is not failed.ask]
            await self._answer(answers, alone)
            return later + rest
        except Exception as exc:  # the commit failed: each runs alone and gets its own answer
            log.info("group_commit_fallback", size=len(batch), error=type(exc).__name__)
            await asyncio.gather(*(self._alone(ask) for ask in batch))
            return []
        await self._answer(answers, alone)
        return later

    def _sort(
        self,
        ask: _Ask[U, Any],
        exc: Exception,
        answers: list[tuple[_Ask[U, Any], Any, bool]],
        later: list[_Ask[U, Any]],
        alone: list[_Ask[U, Any]],
    ) -> None:
        if isinstance(exc, self._defer):
            later.append(ask)
        elif isinstance(exc, DomainError):  # its answer, given the members before it
            answers.append((ask, exc, True))
        else:  # a database error: the unbatched path retries what can be retried
            alone.append(ask)

    async def _answer(
        self, answers: list[tuple[_Ask[U, Any], Any, bool]], alone: list[_Ask[U, Any]]
    ) -> None:
        for ask, outcome, failed in answers:
            if ask.answer.done():
                continue
            if failed:
                ask.answer.set_exception(outcome)
            else:
                ask.answer.set_result(outcome)
        if alone:
            log.info("group_commit_alone", size=len(alone))
            await asyncio.gather(*(self._alone(ask) for ask in alone))

    @staticmethod
    async def _alone(ask: _Ask[U, Any]) -> None:
        if ask.answer.done():  # its caller has gone
            return
        try:
            result = await asyncio.create_task(ask.alone(), context=ask.context)
        except Exception as exc:  # the caller's own answer, raised where it awaits
            if not ask.answer.done():
                ask.answer.set_exception(exc)
            return
        if not ask.answer.done():
            ask.answer.set_result(result)
