"""A circuit breaker (and retries, for the polls) around one calendar source's feed.

After `threshold` outages in a row the source is not called for `reset_after` seconds: a
poll or a live check fails at once with `SourceOpen` (a `SourceUnavailable`), so the store
keeps what it has and availability reads the other sources. `CursorExpired` and any other
error prove the source is up: they are neither retried nor counted. The live check at
booking time is never retried (it has 1.5 s in all).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from clinicflow.adapters._resilience import (
    BreakerState,
    CircuitBreaker,
    Outages,
    RetryPolicy,
    resilient,
)
from clinicflow.calendars.domain.busy import BusyInterval, Delta, Snapshot
from clinicflow.calendars.ports import BusyFeed, SourceUnavailable


class SourceOpen(SourceUnavailable):
    """The source's circuit is open: it was not called."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source}: {detail}")
        self.source = source


OUTAGES = Outages(transient=SourceUnavailable, opened=SourceOpen)


class ResilientFeed:
    """`feed` behind its own breaker; the same `BusyFeed` to the calendars context."""

    def __init__(
        self,
        feed: BusyFeed,
        *,
        threshold: int = 5,
        reset_after: float = 60.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.name = feed.name
        self.feed = feed
        self.breaker = CircuitBreaker(
            f"calendar_{feed.name}", outages=OUTAGES, threshold=threshold, reset_after=reset_after
        )
        self._policy = policy or RetryPolicy(attempts=2)

    def covers(self, practitioner: str) -> bool:
        return self.feed.covers(practitioner)

    async def snapshot(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[Snapshot]:
        return await resilient(
            lambda: self.feed.snapshot(practitioners, start, end), self.breaker, self._policy
        )

    async def changes(self, practitioner: str, cursor: str | None) -> Delta | None:
        return await resilient(
            lambda: self.feed.changes(practitioner, cursor), self.breaker, self._policy
        )

    async def live(
        self, practitioner: str, start: datetime, end: datetime
    ) -> Sequence[BusyInterval]:
        return await self.breaker.call(lambda: self.feed.live(practitioner, start, end))

    async def state(self) -> BreakerState:
        return await self.breaker.state()
