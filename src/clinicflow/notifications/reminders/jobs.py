"""Sending due reminders. Reminders are rows, so a restart loses none; each is judged again
against the booking as it stands at send time, so a cancelled or moved visit gets no stale
reminder.

Notifications asks booking for the booking as it stands (`uow.bookings`, in this
transaction): the reminder must see its state at this instant, and the events that would
carry it may still be in flight. Closing the reminder and recording its messages commit
together, so a reminder marked sent always has its messages (sent now, or by the recovery
job when this worker stops before sending them).
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from clinicflow.notifications.domain.messages import reminder_event
from clinicflow.notifications.domain.schedule import DueReminder, reminder_skip_reason
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.messages.errors import DeliveryFailed
from clinicflow.notifications.messages.jobs import DispatchingJob
from clinicflow.notifications.messages.service import Prepared
from clinicflow.notifications.ports import NotificationsUnitOfWork


class ReminderScheduler(DispatchingJob):
    async def send_due(self, now: datetime) -> int:
        """Send the reminders due at `now`; returns how many were sent (not skipped). Those
        whose worker stopped before sending them are left to `messages.jobs.StuckMessages`."""
        async with self._uow() as uow:
            claimed = [
                await self._claim(uow, r, now)
                for r in await uow.reminders.claim_due(now, self._batch)
            ]
            await uow.commit()
        for prepared in (p for p in claimed if p is not None):
            # A failure is recorded on its message row (status failed, with the reason); one
            # patient's bad address must not hold back everyone else's reminders.
            with contextlib.suppress(DeliveryFailed):
                await self._dispatcher.send(prepared)
        return sum(1 for p in claimed if p is not None)

    async def _claim(
        self, uow: NotificationsUnitOfWork, reminder: DueReminder, now: datetime
    ) -> Prepared | None:
        booking = await uow.bookings.now(reminder.booking_id)
        reason = reminder_skip_reason(
            booking.status if booking else None,
            booking.start if booking else None,
            reminder.booking_start_at,
            now,
        )
        if reason is not None or booking is None:
            await uow.reminders.close(reminder.id, "skipped", now, reason)
            return None
        await uow.reminders.close(reminder.id, "sent", now, None)
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
            uow, reminder_event(reminder.id), "reminder", visit, patient_id
        )
