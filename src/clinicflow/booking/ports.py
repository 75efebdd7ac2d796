"""What booking needs from outside."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking.domain.availability import Interval
from clinicflow.infra.outbox import Event
from clinicflow.patients import PatientDetails


class CalendarSource(Protocol):
    """Busy time a practitioner has elsewhere (time off, Calendly, Office 365 …)."""

    name: str

    async def busy(
        self, practitioners: Sequence[str], window: Interval
    ) -> Mapping[str, Sequence[Interval]]: ...


class PatientMatcher(Protocol):
    """Finds the patient behind a booking, or creates a minimal record, in the transaction."""

    async def match_or_create(
        self, conn: AsyncConnection, details: PatientDetails, now: datetime
    ) -> tuple[str, bool]:
        """The patient's id, and whether this transaction created the record."""
        ...


class EventListener(Protocol):
    """Reacts to a booking event inside the transaction that produced it."""

    async def handle(self, conn: AsyncConnection, event: Event) -> None: ...
