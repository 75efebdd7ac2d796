"""The reminders' repository, as the use cases see it (SQL in `repository.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from clinicflow.notifications.domain.schedule import DueReminder, Reminder
from clinicflow.notifications.domain.visit import Visit


class Reminders(Protocol):
    """Reminder rows, in the caller's transaction. Unique per (booking, kind, start): a
    redelivered event schedules nothing twice."""

    async def schedule(
        self, visit: Visit, patient_id: str, planned: Sequence[Reminder], now: datetime
    ) -> None:
        """`planned` for the visit's booking at its start."""
        ...

    async def cancel(
        self, booking_id: str, now: datetime, keep_start: datetime | None = None
    ) -> None:
        """Cancel the booking's pending reminders, except those scheduled for `keep_start`."""
        ...

    async def claim_due(self, now: datetime, limit: int) -> list[DueReminder]:
        """Due reminders, locked so that concurrent workers take different ones."""
        ...

    async def close(
        self, reminder_id: str, status: str, now: datetime, reason: str | None
    ) -> None: ...


class RiskyBookings(Protocol):
    """The forecasting context's cached no-show risks (wired in bootstrap): which upcoming
    bookings the model finds likely to be missed. Booking ids only: no person."""

    async def above(self, threshold: float, start_from: datetime, start_to: datetime) -> list[str]:
        """Bookings starting in [start_from, start_to) with a cached risk above `threshold`."""
        ...
