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
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.booking import BookingNow
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.notifications.domain.messages import reminder_event
from clinicflow.notifications.domain.schedule import (
    DueReminder,
    Reminder,
    label,
    reminder_skip_reason,
)
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.messages.errors import DeliveryFailed
from clinicflow.notifications.messages.jobs import DispatchingJob
from clinicflow.notifications.messages.service import Prepared
from clinicflow.notifications.ports import NotificationsUnitOfWork
from clinicflow.notifications.reminders.ports import RiskyBookings
from clinicflow.shared.records import from_attributes


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
        patient_id = booking.patient_id or reminder.patient_id
        return await self._dispatcher.prepare(
            uow, reminder_event(reminder.id), "reminder", _visit(booking), patient_id
        )


EXTRA_BEFORE = timedelta(hours=48)  # the extra reminder: two days before the visit
# Never closer to the visit than this: the 24 h reminder follows soon enough after it.
EXTRA_LATEST = timedelta(hours=26)
EXTRA_AHEAD = timedelta(hours=1)  # scheduled this long before it is due, on the latest risk


def _visit(booking: BookingNow) -> Visit:
    # As it stands now: no earlier start to tell of.
    return from_attributes(Visit, booking, booking_id=booking.id, previous_start=None)


@dataclass(kw_only=True, eq=False)
class ExtraReminders:
    """One more reminder, two days before, for the visits the no-show model finds risky
    (`CLINICFLOW_NO_SHOW_EXTRA_REMINDER_THRESHOLD`; docs/ml.md). Every poll it asks for the
    confirmed bookings whose extra reminder falls due within the hour and whose cached risk is
    above the threshold, and schedules it as a reminder row (kind "2d"): sent by
    `ReminderScheduler` like any other, so consent decides each channel, and the booking is
    judged again at send time. The row is unique per (booking, kind, start), so two workers
    (or a service whose own reminders include two days) schedule and send it once. A visit
    whose risk is known only later is reminded at once, unless it is 26 hours away or less."""

    uow: UnitsOfWork[NotificationsUnitOfWork]
    risks: RiskyBookings
    threshold: float

    async def schedule(self, now: datetime) -> int:
        """Schedule the extra reminders due within the hour; how many bookings have one."""
        found = await self.risks.above(
            self.threshold, now + EXTRA_LATEST, now + EXTRA_BEFORE + EXTRA_AHEAD
        )
        if not found:
            return 0
        planned = 0
        async with self.uow() as uow:
            for booking_id in found:
                booking = await uow.bookings.now(booking_id)
                if booking is None or booking.status != "confirmed" or not booking.patient_id:
                    continue
                if booking.start - now <= EXTRA_LATEST:
                    continue  # moved closer since the prediction: the usual ones suffice
                send_at = max(booking.start - EXTRA_BEFORE, now)
                extra = Reminder(label(EXTRA_BEFORE), send_at)
                await uow.reminders.schedule(_visit(booking), booking.patient_id, [extra], now)
                planned += 1
            await uow.commit()
        return planned
