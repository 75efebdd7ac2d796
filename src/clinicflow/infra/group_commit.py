"""Group commit: concurrent writes of one kind share one transaction.

A booking is a dozen short statements; on a busy server the transaction's BEGIN and COMMIT
and the audit seal after it (one more short transaction) cost as much again, per booking.
`GroupCommit.run(steps, alone)` queues `steps(conn)`; a few drain tasks take whatever is
queued and run those steps one after the other in one write transaction, so a batch of k
pays for one BEGIN, one COMMIT and one seal. Each step runs in its caller's context (its
trace, its log context), sees every committed write and the steps before it in its batch,
and answers its caller only after the commit and the commit listeners (the cache is
dropped before any answer leaves, as for a single write).

If anything in a batch raises — a slot taken meanwhile, a constraint another process's
commit tripped — the whole transaction is rolled back and every caller of that batch is run
`alone()`, in a transaction of its own: exactly the path it takes without batching, so the
answer (201, 409, …) is the one it would have had. A lone caller in the queue takes that
path directly.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import Database

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Ask(Generic[T]):
    steps: Callable[[AsyncConnection], Coroutine[Any, Any, T]]
    alone: Callable[[], Coroutine[Any, Any, T]]
    context: contextvars.Context
    answer: asyncio.Future[T]


class GroupCommit:
    def __init__(self, db: Database, *, max_batch: int = 16, drains: int = 2) -> None:
        """`drains`: batches in flight at once in this process (each holds a connection)."""
        self._db = db
        self._max = max_batch
        self._drains = drains
        self._queue: list[_Ask[Any]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()  # the drains, referenced while they run

    async def run(
        self,
        steps: Callable[[AsyncConnection], Coroutine[Any, Any, T]],
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
        return await answer

    async def _drain(self) -> None:
        batch: list[_Ask[Any]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max], self._queue[self._max :]
                if len(batch) == 1:
                    await self._alone(batch[0])
                else:
                    await self._together(batch)
        finally:
            self._running -= 1
            for ask in batch:  # the drain itself was cancelled (shutdown): nobody waits forever
                if not ask.answer.done():
                    ask.answer.cancel()

    async def _together(self, batch: list[_Ask[Any]]) -> None:
        done: list[Any] = []
        try:
            async with self._db.write() as conn:
                for ask in batch:
                    # In the caller's context: its spans, log lines and outbox traceparent.
                    done.append(await asyncio.create_task(ask.steps(conn), context=ask.context))
        except Exception as exc:  # rolled back: each runs alone and gets its own answer
            log.info("group_commit_fallback", size=len(batch), error=type(exc).__name__)
            await asyncio.gather(*(self._alone(ask) for ask in batch))
            return
        for ask, result in zip(batch, done, strict=True):
            if not ask.answer.done():
                ask.answer.set_result(result)

    @staticmethod
    async def _alone(ask: _Ask[Any]) -> None:
        try:
            result = await asyncio.create_task(ask.alone(), context=ask.context)
        except Exception as exc:  # the caller's own answer, raised where it awaits
            if not ask.answer.done():
                ask.answer.set_exception(exc)
            return
        if not ask.answer.done():
            ask.answer.set_result(result)
