"""Where a source stands for a practitioner, and what that makes of the practitioner's times.

- A source counts as **synced** only once its first full sync has succeeded: before that,
  its silence proves nothing.
- A source is **fresh** while it is synced and its last success is no older than its
  staleness budget.
- A practitioner with at least one configured source is **confirmed** while at least one
  of them is fresh; when every one is stale (down beyond its budget, or never synced) the
  practitioner's times are **unconfirmed** and, by default, not offered.
- Each failure counts; the next attempt waits `backoff` (doubling, capped); a success
  clears the count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from clinicflow.calendars.domain.busy import SyncState


@dataclass(frozen=True, slots=True)
class Backoff:
    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(minutes=30)

    def after(self, errors: int) -> timedelta:
        """The wait after `errors` failures in a row (1: `first`)."""
        if errors <= 0:
            return timedelta(0)
        wait: timedelta = self.first * int(2 ** min(errors - 1, 20))
        return min(wait, self.longest)


class Freshness:
    """Each source's staleness budget: how old its answers may be before they no longer
    confirm a practitioner's times."""

    def __init__(
        self, default: timedelta, per_source: Mapping[str, timedelta] | None = None
    ) -> None:
        self.default = default
        self._per_source = dict(per_source or {})

    def budget(self, source: str) -> timedelta:
        return self._per_source.get(source, self.default)


def succeeded(
    state: SyncState, now: datetime, *, full: bool, cursor: str | None, keep_cursor: bool = False
) -> SyncState:
    """After a sync (full or from the cursor) or a push was stored."""
    return replace(
        state,
        cursor=state.cursor if keep_cursor else cursor,
        last_full_sync=now if full else state.last_full_sync,
        last_success=now,
        consecutive_errors=0,
        backoff_until=None,
    )


def failed(state: SyncState, now: datetime, backoff: Backoff) -> SyncState:
    errors = state.consecutive_errors + 1
    return replace(state, consecutive_errors=errors, backoff_until=now + backoff.after(errors))


def due(state: SyncState, now: datetime) -> bool:
    """Whether a poll may ask the source now (not inside its back-off)."""
    return state.backoff_until is None or state.backoff_until <= now


def synced(state: SyncState | None) -> bool:
    return state is not None and state.last_full_sync is not None


def age(state: SyncState | None, now: datetime) -> timedelta | None:
    """How old what the store holds from this source is; None: never synced."""
    if state is None or not synced(state) or state.last_success is None:
        return None
    return max(now - state.last_success, timedelta(0))


def fresh(state: SyncState | None, now: datetime, budget: timedelta) -> bool:
    known = age(state, now)
    return known is not None and known <= budget


def confirmed(states: Iterable[tuple[SyncState | None, timedelta]], now: datetime) -> bool:
    """A practitioner's times, given each configured source's state and budget: confirmed
    when there is no source at all, or at least one is fresh."""
    given = list(states)
    return not given or any(fresh(state, now, budget) for state, budget in given)
