"""What the calendars context needs from outside: the adapters (adapters/calendars/) speak
each vendor's wire format behind these protocols, on the injected httpx.AsyncClient."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from clinicflow.calendars.domain.busy import BusyInterval, Delta, Snapshot, SyncState
from clinicflow.calendars.domain.merge import Plan
from clinicflow.infra.unit_of_work import Transaction


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


# -- the store, as the use cases see it (repository.py: SQL; tests/support/fake_calendars.py)


class BusyStore(Protocol):
    """The busy intervals, in the unit of work's transaction."""

    async def held(
        self,
        source: str,
        practitioner: str,
        ids: Sequence[str],
        window: tuple[datetime, datetime] | None = None,
    ) -> list[BusyInterval]:
        """The source's intervals for the practitioner that carry one of `ids` or overlap
        `window` [start, end) (what a plan is worked out against)."""
        ...

    async def carry_out(self, plan: Plan, fetched_at: datetime) -> None:
        """Writes `plan.upsert` (by id) and deletes `plan.remove`."""
        ...

    async def blocking(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> list[BusyInterval]:
        """The intervals that block time (busy, tentative, out of office) of `practitioners`
        overlapping [start, end), from every source, but for clinicflow's own bookings as
        a source shows them (`own`): the booking itself blocks its time here."""
        ...

    async def blocking_minutes(
        self, practitioners: Sequence[str], start: int, end: int
    ) -> list[tuple[str, int, int]]:
        """`blocking`'s intervals as (practitioner, start, end) in the availability engine's
        minutes (start rounded down, end up) overlapping [start, end): what availability
        reads on every question, without a timestamp to parse."""
        ...

    async def own(self, source: str, ids: Sequence[str]) -> set[str]:
        """Which of the source's `ids` are clinicflow's own bookings seen from the source: a
        Calendly page booking being imported here, or imported (its scheduled event URI)."""
        ...

    async def counts(self) -> dict[tuple[str, str], int]:
        """How many intervals each (source, practitioner) has in the store."""
        ...


class SyncStates(Protocol):
    async def get(self, source: str, practitioner: str) -> SyncState | None: ...

    async def of(self, practitioners: Sequence[str]) -> list[SyncState]:
        """Every source's state for these practitioners."""
        ...

    async def all(self) -> list[SyncState]: ...

    async def put(self, state: SyncState) -> None:
        """Insert, or replace every field of the one with its source and practitioner."""
        ...


class CalendarsUnitOfWork(Transaction, Protocol):
    @property
    def busy(self) -> BusyStore: ...

    @property
    def states(self) -> SyncStates: ...
