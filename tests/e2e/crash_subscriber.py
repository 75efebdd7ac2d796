"""A subscriber for the worker crash test, loaded by `clinicflow worker` through
CLINICFLOW_EXTRA_SUBSCRIBERS=crash_subscriber:make (tests/e2e on PYTHONPATH).

It writes its effect row inside the inbox transaction and logs each attempt to a file (the
worker's pid, the event, and the module of the loop it ran on); with CRASH_HOLD set it then
stops mid-handling (transaction open) so the test can kill it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import text

from clinicflow.infra.bus import Envelope
from clinicflow.infra.events import SubscriberDeps
from clinicflow.infra.inbox import Inbox
from clinicflow.infra.unit_of_work import UnitOfWork


class CrashSubscriber:
    name = "crash-test"
    types = frozenset({"booking.created"})

    def __init__(self, inbox: Inbox, attempts: Path, hold: bool) -> None:
        self.inbox = inbox
        self.attempts = attempts
        self.hold = hold

    async def handle(self, event: Envelope) -> None:
        async with self.inbox.handling(self.name, event, UnitOfWork(self.inbox.db)) as uow:
            if uow is None:
                return
            await uow.connection.execute(
                text("INSERT INTO crash_effect (event_id, pid) VALUES (:e, :p)"),
                {"e": event.event_id, "p": os.getpid()},
            )
            loop = type(asyncio.get_running_loop()).__module__
            await asyncio.to_thread(self._log_attempt, event.event_id, loop)
            if self.hold:
                await asyncio.Event().wait()  # the test kills the worker here

    def _log_attempt(self, event_id: str, loop: str) -> None:
        with self.attempts.open("a") as log:
            log.write(f"{os.getpid()} {event_id} {loop}\n")


def make(deps: SubscriberDeps) -> CrashSubscriber:
    attempts = Path(os.environ["CRASH_ATTEMPTS_LOG"])
    return CrashSubscriber(deps.inbox, attempts, hold=bool(os.environ.get("CRASH_HOLD")))
