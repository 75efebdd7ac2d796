"""What the calendars context needs from outside: the adapters (adapters/calendars/) speak
each vendor's wire format behind these protocols, on the injected httpx.AsyncClient."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from clinicflow.calendars.domain.busy import BusyInterval, Delta, Snapshot


class CursorExpired(Exception):
    """The source no longer knows the cursor (Graph `syncStateNotFound` or 410 Gone, a CalDAV
    sync token refused): the caller does a full sync of that practitioner."""


class SourceUnavailable(Exception):
    """The source could not answer now (network, 5xx, 429 past its retries, breaker open)."""


class BusyFeed(Protocol):
    """One kind of external calendar, for the practitioners mapped to it."""

    name: str  # "calendly", "microsoft", "caldav", "ics", "google"

    def covers(self, practitioner: str) -> bool:
        """Whether this practitioner has a calendar of this kind (config/clinic.yaml)."""
        ...

    async def snapshot(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[Snapshot]:
        """Everything in [start, end) for each practitioner it covers (a full sync). Raises
        `SourceUnavailable`."""
        ...

    async def changes(self, practitioner: str, cursor: str | None) -> Delta | None:
        """What changed since `cursor` (None: start a cursor), or None when the source has
        no cheap catch-up and only snapshots. Raises `CursorExpired`, `SourceUnavailable`."""
        ...

    async def live(
        self, practitioner: str, start: datetime, end: datetime
    ) -> Sequence[BusyInterval]:
        """Asked at booking time, with a tight timeout: the practitioner's busy time now, from
        the source itself. Raises `SourceUnavailable`."""
        ...
