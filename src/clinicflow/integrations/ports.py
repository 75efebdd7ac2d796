"""What integrations need from outside. Calls carry ids and times only (a `SyncedVisit`);
an adapter that needs a patient's details asks the patients context for them itself, audited.

Every call must be idempotent: events arrive at least once, so the same visit may be pushed
twice, and a removal of something already gone is not an error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SyncedVisit:
    booking_id: str
    service: str
    visit_type: str
    practitioner: str
    start: datetime  # aware UTC
    end: datetime
    patient_id: str | None


class CalendarSync(Protocol):
    """The practitioner's own calendar: the visit appears there, moves, or goes."""

    name: str

    async def upsert_visit(self, visit: SyncedVisit) -> None: ...

    async def remove_visit(self, booking_id: str, practitioner: str) -> None: ...


class EhrSync(Protocol):
    """The clinical record: an encounter is scheduled, moved or cancelled there."""

    name: str

    async def schedule_encounter(self, visit: SyncedVisit) -> None: ...

    async def cancel_encounter(self, booking_id: str) -> None: ...
