"""The bus subscriber: booking events become messages to the patient and reminder rows.

Every step is idempotent, so the at-least-once bus may deliver an event twice: message rows
are unique per (event, channel, template) and a sent one is never sent again; reminders are
unique per (booking, kind, start) and moving or cancelling them is a plain update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.bus import Envelope
from clinicflow.notifications import repository as repo
from clinicflow.notifications.dispatch import Dispatcher
from clinicflow.notifications.domain.schedule import reminders_for
from clinicflow.notifications.domain.visit import KINDS, Visit
from clinicflow.shared.clock import Clock


class NotificationSubscriber:
    name = "notifications"
    types = frozenset(KINDS)

    def __init__(
        self,
        dispatcher: Dispatcher,
        clock: Clock,
        reminder_offsets: Mapping[str, Sequence[timedelta]] | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._clock = clock
        self._offsets = dict(reminder_offsets or {})

    async def handle(self, event: Envelope) -> None:
        kind = KINDS.get(event.type)
        if kind is None:
            return
        visit = Visit.from_payload(event.payload)
        if visit.patient_id is None:
            return  # a booking with no patient (a bare hold) has nobody to tell
        patient_id = visit.patient_id
        async with self._dispatcher.write() as conn:
            await self._reminders(conn, event.type, visit, patient_id)
            prepared = await self._dispatcher.prepare(conn, event.event_id, kind, visit, patient_id)
        await self._dispatcher.send(prepared)

    async def _reminders(
        self, conn: AsyncConnection, type_: str, visit: Visit, patient_id: str
    ) -> None:
        now = self._clock.now()
        if type_ == "booking.cancelled":
            await repo.cancel_reminders(conn, visit.booking_id, now)
            return
        if type_ == "booking.rescheduled":
            await repo.cancel_reminders(conn, visit.booking_id, now, keep_start=visit.start)
        planned = reminders_for(visit.start, visit.service, now, self._offsets)
        await repo.schedule(conn, visit.booking_id, patient_id, visit.start, planned, now)
