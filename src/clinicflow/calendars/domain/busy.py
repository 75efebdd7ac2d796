"""What an external calendar says about a practitioner's time, as values.

A source answers in one of two ways:
- a **snapshot**: everything it has for one practitioner inside a window (a full sync, a
  Calendly busy-times call, a getSchedule answer, a CalDAV free-busy report). It replaces
  what the store holds for that source and practitioner *inside that window only*;
- a **delta**: intervals added or changed, and ids removed (Graph calendarView/delta, a
  webhook). It is merged: nothing outside it changes.
Instants are aware datetimes in UTC; an interval is [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ShowAs(StrEnum):
    """How the source marks the time. Busy, tentative and out of office block a slot;
    free and working elsewhere do not (Cal.com's mapping of Outlook's `showAs`)."""

    BUSY = "busy"
    TENTATIVE = "tentative"
    OOF = "oof"
    FREE = "free"
    WORKING_ELSEWHERE = "workingElsewhere"

    @property
    def blocks(self) -> bool:
        return self in (ShowAs.BUSY, ShowAs.TENTATIVE, ShowAs.OOF)


@dataclass(frozen=True, slots=True)
class BusyInterval:
    """One stretch of time a source says the practitioner is taken. `external_id` is the
    source's id for it (an event id; for sources without ids, a stable digest of the source,
    practitioner and times); `etag` its version (Graph changeKey, CalDAV etag) if any."""

    source: str
    practitioner: str
    external_id: str
    start: datetime
    end: datetime
    show_as: ShowAs = ShowAs.BUSY
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything `source` has for `practitioner` in [window_start, window_end)."""

    source: str
    practitioner: str
    window_start: datetime
    window_end: datetime
    intervals: tuple[BusyInterval, ...]


@dataclass(frozen=True, slots=True)
class Delta:
    """Changes since `cursor` was given out; `next_cursor` resumes after them."""

    source: str
    practitioner: str
    upserted: tuple[BusyInterval, ...] = ()
    removed: tuple[str, ...] = ()  # external ids
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where a source stands for one practitioner."""

    source: str
    practitioner: str
    cursor: str | None = None  # Graph delta link, CalDAV sync token …
    subscription_id: str | None = None
    subscription_expires: datetime | None = None
    last_full_sync: datetime | None = None  # None: never synced, its silence proves nothing
    last_success: datetime | None = None
    consecutive_errors: int = 0
    backoff_until: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
