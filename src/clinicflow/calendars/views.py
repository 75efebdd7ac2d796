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


@dataclass(frozen=True, slots=True)
class ExternalBusy:
    """A stretch of a practitioner's time an external calendar holds, as staff see it: the
    source and its times only (clinicflow keeps no titles or attendees of others' events)."""

    practitioner: str
    source: str
    start: datetime
    end: datetime
    show_as: str  # busy, tentative, oof


@dataclass(frozen=True, slots=True)
class ExternalDay:
    """What the external calendars say about some practitioners over some days."""

    connected: bool  # any external calendar is configured for them
    blocks: tuple[ExternalBusy, ...]
    unconfirmed: tuple[str, ...]  # every source stale: not offered until one catches up
