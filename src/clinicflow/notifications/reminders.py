"""Sending due reminders. Reminders are rows, so a restart loses none; each is judged again
against the booking as it stands at send time, so a cancelled or moved visit gets no stale
reminder.

Notifications asks booking for the booking as it stands (`booking.booking_now`, in this
transaction): the reminder must see its state at this instant, and the events that would
carry it may still be in flight.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import booking_now
from clinicflow.notifications import repository as repo
from clinicflow.notifications.dispatch import DeliveryFailed, Dispatcher, Prepared
from clinicflow.notifications.domain.schedule import reminder_skip_reason
from clinicflow.notifications.domain.visit import Visit


class ReminderScheduler:
    def __init__(self, dispatcher: Dispatcher, batch: int = 100) -> None:
        self._dispatcher = dispatcher
        self._batch = batch

    async def send_due(self, now: datetime) -> int:
        """Send the reminders due at `now`; returns how many were sent (not skipped). Those
        whose worker stopped before sending them are left to `recovery.StuckMessages`."""
        async with self._dispatcher.write() as conn:
            claimed = [
                await self._claim(conn, r, now)
                for r in await repo.claim_due(conn, now, self._batch)
            ]
        for prepared in (p for p in claimed if p is not None):
            # A failure is recorded on its message row (status failed, with the reason); one
            # patient's bad address must not hold back everyone else's reminders.
            with contextlib.suppress(DeliveryFailed):
                await self._dispatcher.send(prepared)
        return sum(1 for p in claimed if p is not None)

    async def _claim(self, conn: AsyncConnection, reminder: Any, now: datetime) -> Prepared | None:
        booking = await booking_now(conn, reminder.booking_id)
        reason = reminder_skip_reason(
            booking.status if booking else None,
            booking.start if booking else None,
            reminder.booking_start_at,
            now,
        )
        if reason is not None or booking is None:
            await repo.close_reminder(conn, reminder.id, "skipped", now, reason)
            return None
        await repo.close_reminder(conn, reminder.id, "sent", now, None)
        visit = Visit(
            booking_id=booking.id,
            service=booking.service,
            visit_type=booking.visit_type,
            practitioner=booking.practitioner,
            start=booking.start,
            end=booking.end,
            patient_id=booking.patient_id,
        )
        patient_id = booking.patient_id or reminder.patient_id
        return await self._dispatcher.prepare(
            conn, f"reminder:{reminder.id}", "reminder", visit, patient_id
        )
