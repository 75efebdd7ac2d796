"""Typed outputs of the calendars' use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One source for one practitioner, as `clinicflow calendars status` and the metrics
    show it."""

    source: str
    practitioner: str
    synced: bool  # a first full sync has succeeded
    age: timedelta | None  # since the last success; None: never synced
    stale: bool  # beyond its staleness budget (or never synced)
    budget: timedelta
    consecutive_errors: int
    backoff_until: datetime | None
    last_full_sync: datetime | None
    intervals: int  # held in the store
    breaker: str  # "closed", "open", "half-open" ("none": no breaker)


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one sync of one source did for one practitioner."""

    source: str
    practitioner: str
    kind: str  # "full", "delta", "skipped" (backing off), "failed"
    changed: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PractitionerStatus:
    practitioner: str
    confirmed: bool  # at least one source fresh (or none configured)
    sources: tuple[SourceStatus, ...]
