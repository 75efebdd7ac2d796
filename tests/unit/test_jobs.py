"""The periodic-job timer: each job at its interval, one failure never stops the others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from clinicflow.infra.jobs import Job, Jobs
from clinicflow.shared.clock import FixedClock

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


class Counter:
    def __init__(self) -> None:
        self.calls: list[datetime] = []

    async def __call__(self, now: datetime) -> int:
        self.calls.append(now)
        return len(self.calls)


async def test_a_job_runs_at_once_then_each_interval() -> None:
    clock = FixedClock(T0)
    counter = Counter()
    jobs = Jobs(clock, [Job("count", timedelta(seconds=30), counter)])
    assert await jobs.run_due() == {"count": 1}
    clock.advance(timedelta(seconds=29))
    assert await jobs.run_due() == {}
    clock.advance(timedelta(seconds=1))
    assert await jobs.run_due() == {"count": 2}
    assert counter.calls == [T0, T0 + timedelta(seconds=30)]


async def test_a_failing_job_does_not_hold_back_the_others() -> None:
    clock = FixedClock(T0)
    counter = Counter()

    async def broken(now: datetime) -> int:
        raise ConnectionError("provider down")

    jobs = Jobs(
        clock,
        [Job("broken", timedelta(seconds=5), broken), Job("count", timedelta(seconds=5), counter)],
    )
    assert await jobs.run_due() == {"count": 1}
    clock.advance(timedelta(seconds=5))
    assert await jobs.run_due() == {"count": 2}  # the broken one was tried again, still failing


async def test_the_background_timer_runs_jobs_until_stopped() -> None:
    clock = FixedClock(T0)
    ran = asyncio.Event()

    async def job(now: datetime) -> int:
        ran.set()
        return 0

    jobs = Jobs(clock, [Job("once", timedelta(minutes=1), job)], tick_seconds=0.01)
    jobs.start()
    await asyncio.wait_for(ran.wait(), timeout=10)
    await jobs.stop()
    assert ran.is_set()
