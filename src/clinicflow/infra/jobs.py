"""Periodic jobs: due reminders, outbound webhook retries, and whatever else runs on a timer.

Every job is safe to run in several processes at once (each claims its rows atomically), so
the timer needs no leader election: `clinicflow worker` runs it in every worker, and
`clinicflow serve` runs it too on the embedded default (in-process events, no worker). State
lives in the database, never in the timer, so a restart loses nothing: a job that missed its
minute finds the same rows due at the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.infra.events.loop import pause
from clinicflow.infra.logging import get_logger
from clinicflow.shared.clock import Clock

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], Awaitable[int]]  # given now; returns how much it did


class Jobs:
    def __init__(self, clock: Clock, jobs: Sequence[Job], tick_seconds: float = 1.0) -> None:
        self.jobs = tuple(jobs)
        self._clock = clock
        self._tick = tick_seconds
        self._next: dict[str, datetime] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_due(self) -> dict[str, int]:
        """Run each job whose time has come, once; returns what each one did.

        A failing job is logged and tried again at its next interval; it never stops the
        others (one broken provider must not hold back reminders)."""
        done: dict[str, int] = {}
        for job in self.jobs:
            now = self._clock.now()
            if self._next.get(job.name, now) > now:
                continue
            self._next[job.name] = now + job.every
            try:
                done[job.name] = await job.run(now)
            except Exception:
                log.exception("periodic_job_failed", job=job.name)
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Run due jobs until `stop` is set; a job under way finishes first."""
        while not stop.is_set():
            await self.run_due()
            await pause(stop, self._tick)

    def start(self) -> None:
        """In the background of this event loop (`clinicflow serve`)."""
        if self._task is None and self.jobs:
            self._stop.clear()
            self._task = asyncio.create_task(self.run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
