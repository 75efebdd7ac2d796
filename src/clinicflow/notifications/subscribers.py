"""The bus subscribers: booking events become messages to the patient and reminder rows;
payment events become a receipt or a refund notice; a de-identified patient's browsers are
forgotten.

Every step is idempotent, so the at-least-once bus may deliver an event twice: message rows
are unique per (event, channel, template) and a sent one is never sent again; reminders are
unique per (booking, kind, start) and moving or cancelling them is a plain update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from clinicflow.infra.bus import Envelope
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.notifications.domain.payment import (
    PAYMENT_KINDS,
    PaidVisit,
    PaymentNotice,
    tells_patient,
)
from clinicflow.notifications.domain.schedule import reminders_for
from clinicflow.notifications.domain.visit import KINDS, Visit
from clinicflow.notifications.messages.service import Dispatcher
from clinicflow.notifications.ports import NotificationsUnitOfWork
from clinicflow.shared.clock import Clock


class NotificationSubscriber:
    name = "notifications"
    types = frozenset(KINDS) | frozenset(PAYMENT_KINDS)

    def __init__(
        self,
        *,
        uow: UnitsOfWork[NotificationsUnitOfWork],
        dispatcher: Dispatcher,
        clock: Clock,
        reminder_offsets: Mapping[str, Sequence[timedelta]] | None = None,
    ) -> None:
        self._uow = uow
        self._dispatcher = dispatcher
        self._clock = clock
        self._offsets = dict(reminder_offsets or {})

    async def handle(self, event: Envelope) -> None:
        if event.type in PAYMENT_KINDS:
            await self._payment(event)
            return
        kind = KINDS.get(event.type)
        if kind is None:
            return
        visit = Visit.from_payload(event.payload)
        if visit.patient_id is None:
            return  # a booking with no patient (a bare hold) has nobody to tell
        patient_id = visit.patient_id
        async with self._uow() as uow:
            await self._reminders(uow, event.type, visit, patient_id)
            prepared = await self._dispatcher.prepare(uow, event.event_id, kind, visit, patient_id)
            await uow.commit()
        await self._dispatcher.send(prepared)

    async def _reminders(
        self, uow: NotificationsUnitOfWork, type_: str, visit: Visit, patient_id: str
    ) -> None:
        now = self._clock.now()
        if type_ == "booking.cancelled":
            await uow.reminders.cancel(visit.booking_id, now)
            return
        if type_ == "booking.rescheduled":
            await uow.reminders.cancel(visit.booking_id, now, keep_start=visit.start)
        planned = reminders_for(visit.start, visit.service, now, self._offsets)
        await uow.reminders.schedule(visit, patient_id, planned, now)

    async def _payment(self, event: Envelope) -> None:
        notice = PaymentNotice.from_payload(event.type, event.payload)
        patient_id = notice.patient_id
        if patient_id is None or not tells_patient(notice):
            return  # nobody to tell, or no money moved
        kind = PAYMENT_KINDS[event.type]
        async with self._uow() as uow:
            notice = notice.about(await _paid_visits(uow, notice.booking_ids))
            prepared = await self._dispatcher.prepare(uow, event.event_id, kind, notice, patient_id)
            await uow.commit()
        await self._dispatcher.send(prepared)


async def _paid_visits(uow: NotificationsUnitOfWork, booking_ids: Sequence[str]) -> list[PaidVisit]:
    # An order pays for a handful of visits at most: one lookup each, through booking's surface.
    found = [await uow.bookings.now(booking_id) for booking_id in booking_ids]
    return [PaidVisit(b.id, b.service, b.start) for b in found if b is not None]


class ErasedPatients:
    """A de-identified patient's browsers are forgotten: no device of theirs stays linked to
    the record (the bus subscriber for `patient.deidentified`)."""

    name = "notifications_erasure"
    types = frozenset({"patient.deidentified"})

    def __init__(self, *, uow: UnitsOfWork[NotificationsUnitOfWork]) -> None:
        self._uow = uow

    async def handle(self, event: Envelope) -> None:
        async with self._uow() as uow:
            await uow.push.forget_patient(str(event.payload["patient_id"]))
            await uow.commit()
