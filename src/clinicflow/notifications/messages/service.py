"""Planning, recording and sending the messages of one event (or one reminder), about a
visit or a payment; and reading them back.

In the caller's write transaction (`prepare`): the patient's contact details are read (a PHI
read, audited as the system's "notify"), the messages are planned and inserted (idempotent
on event, channel and template). After it commits (`send`), each message is claimed (status
`sending`, committed) before its provider call, then marked sent or failed, each in a short
transaction of its own, so no network call holds a database lock.

The claim is what makes a redelivered event harmless: a message whose send completed is
`sent` (or `delivered`) and is never claimed again, and one claimed by a live worker is left
to it. A message left in `sending` by a worker that died inside the provider call is claimed
again only after `sending_timeout` (by the event's redelivery or by `jobs.StuckMessages`),
and sent with the same Message-ID, derived from the message's id, so mail systems that saw
the first copy drop the second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clinicflow.infra.audit_trail import Access
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.notifications.channels.service import LocalChannel
from clinicflow.notifications.domain import ics
from clinicflow.notifications.domain.messages import (
    MESSAGE_STATUSES,
    Message,
    NewMessage,
    message_id_header,
    new_messages,
)
from clinicflow.notifications.domain.plan import Contact, plan
from clinicflow.notifications.domain.render import Renderer
from clinicflow.notifications.domain.subject import Subject, booking_of, subject_from_facts
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.guard import READ, entry, reading_scope
from clinicflow.notifications.messages.errors import DeliveryFailed
from clinicflow.notifications.messages.views import MessageView
from clinicflow.notifications.ports import (
    Attachment,
    Channel,
    DeliveryError,
    NotificationsUnitOfWork,
    Outgoing,
    Trail,
)
from clinicflow.shared.actor import SYSTEM, Actor
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

CALENDAR_KINDS = ("confirmation", "rescheduled", "cancelled")


@dataclass(frozen=True, slots=True)
class Prepared:
    subject: Subject
    contact: Contact | None
    messages: list[Message] = field(default_factory=list)  # queued, failed or stuck: to send


class Dispatcher:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[NotificationsUnitOfWork],
        clock: Clock,
        renderer: Renderer,
        channels: Mapping[str, Channel],
        clinic_email: str | None = None,
        plans_push: bool = False,
        sending_timeout: timedelta = timedelta(minutes=5),
    ) -> None:
        """`plans_push`: a "push" channel is configured, so patients with a registered
        browser get push messages planned (a push has nothing to fall back to locally).
        `sending_timeout`: how long a claimed message may stay `sending` before it is taken
        as abandoned (its worker died) and sent again."""
        self._uow = uow
        self._clock = clock
        self._renderer = renderer
        self._channels = dict(channels)
        self._local = LocalChannel()
        self._clinic_email = clinic_email
        self._plans_push = plans_push
        self.sending_timeout = sending_timeout

    async def prepare(
        self,
        uow: NotificationsUnitOfWork,
        event_id: str,
        kind: str,
        subject: Subject,
        patient_id: str,
    ) -> Prepared:
        """In `uow`'s transaction: plan and record the event's messages (once), and say which
        to send now. The caller commits, then `send`s."""
        existing = await uow.messages.of_event(event_id)
        abandoned = self._abandoned_before()
        if existing and not any(m.sendable(abandoned) for m in existing):
            return Prepared(subject, None)  # sent, skipped or being sent: nothing to do
        contact = await self._contact(uow, patient_id)
        if contact is None:
            return Prepared(subject, None)
        if not existing:
            planned = [
                NewMessage(self._channel_for(p.channel, p.skip_reason), p.template, p.skip_reason)
                for p in plan(kind, contact)
            ]
            booking_id = booking_of(subject)
            now = self._clock.now()
            await uow.messages.add(
                new_messages(event_id, patient_id, booking_id, subject.facts(), planned, now)
            )
        unsent = [m for m in await uow.messages.of_event(event_id) if m.sendable(abandoned)]
        return Prepared(subject, contact, unsent)

    async def send(self, prepared: Prepared) -> None:
        failed = [m.id for m in prepared.messages if not await self._send_one(m, prepared)]
        if failed:
            raise DeliveryFailed(f"{len(failed)} message(s) not sent: {', '.join(failed)}")

    async def prepare_again(self, uow: NotificationsUnitOfWork, event_id: str) -> Prepared | None:
        """An event's messages as recorded, prepared again (the recovery job)."""
        found = await uow.messages.of_event(event_id)
        if not found:
            return None
        first = found[0]
        subject = subject_from_facts(first.kind, first.facts)
        return await self.prepare(uow, event_id, first.kind, subject, first.patient_id)

    def _abandoned_before(self) -> datetime:
        return self._clock.now() - self.sending_timeout

    def _channel_for(self, planned: str, skip_reason: str | None) -> str:
        if skip_reason or planned in self._channels:
            return planned
        return "local"

    async def _contact(self, uow: NotificationsUnitOfWork, patient_id: str) -> Contact | None:
        reach = await uow.contacts.reach(patient_id)
        if reach is None:
            return None
        uow.audit(
            entry(SYSTEM, "notify", Access("patient", patient_id, patient_id)), self._clock.now()
        )
        push_since = await uow.push.newest(patient_id) if self._plans_push else None
        return Contact(reach.email, reach.phone, reach.prefs, push_since)

    async def _send_one(self, message: Message, prepared: Prepared) -> bool:
        """False when it could not be sent; True when sent, or left to another worker."""
        assert prepared.contact is not None
        async with self._uow() as uow:
            now = self._clock.now()
            claimed = await uow.messages.claim(message.id, now, now - self.sending_timeout)
            await uow.commit()
        if not claimed:
            return True  # sent meanwhile, or claimed by a live worker
        planned = message.template.split(".", 1)[1]
        channel = self._channels.get(message.channel, self._local)
        # A push has no address: its channel finds the patient's browsers by patient id.
        address = {"email": prepared.contact.email, "sms": prepared.contact.phone}.get(planned)
        try:
            rendered = self._renderer.render(message.template, prepared.subject)
            attachments = await self._attachments(message, prepared.subject)
            outgoing = Outgoing(
                address or "",
                rendered,
                attachments,
                patient_id=message.patient_id,
                message_id=message_id_header(message.id, self._clinic_email),
            )
            result = await channel.deliver(outgoing)
        except Exception as exc:  # any failure is recorded, then retried
            async with self._uow() as uow:
                await uow.messages.mark_failed(message.id, self._clock.now(), _why(exc))
                await uow.commit()
            return False
        # "delivered" only from a provider that says so (the local mailbox, the table).
        status = "delivered" if result.status == "delivered" else "sent"
        async with self._uow() as uow:
            provider = result.provider[:32]
            await uow.messages.mark_sent(
                message.id, self._clock.now(), status, provider, result.provider_id
            )
            await uow.commit()
        return True

    async def _attachments(self, message: Message, visit: Subject) -> tuple[Attachment, ...]:
        kind = message.kind
        if message.channel != "email" or kind not in CALENDAR_KINDS or not isinstance(visit, Visit):
            return ()
        async with self._uow.reading() as uow:
            sequence = await uow.messages.email_count(visit.booking_id, message.id)
        detail = self._renderer.service_name(visit.service)
        data = ics.invitation(
            visit,
            kind=kind,
            clinic_name=self._renderer.clinic_name,
            organizer_email=self._clinic_email,
            stamp=self._clock.now(),
            summary_detail=detail if self._renderer.options.ics_service_name else None,
            sequence=sequence,
        )
        method = "CANCEL" if kind == "cancelled" else "REQUEST"
        return (Attachment("invite.ics", f"text/calendar; method={method}", data),)


def _why(exc: Exception) -> str:
    """A failure's reason without PHI: the error's type, and a provider's own detail (ports
    promise it never names the recipient); other exceptions' text could."""
    if isinstance(exc, DeliveryError):
        return f"{type(exc).__name__}: {exc.detail}"[:200]
    return type(exc).__name__


class NotificationReader:
    """Reading messages for the API: staff (admin, front desk) see any patient's, a patient
    signed in sees their own (guard.py). Every read is audited; texts are rendered on read."""

    def __init__(
        self, *, uow: UnitsOfWork[NotificationsUnitOfWork], trail: Trail, renderer: Renderer
    ) -> None:
        self._uow = uow
        self._trail = trail
        self._renderer = renderer

    async def list(
        self, actor: Actor, patient_id: str | None, status: str | None, limit: int = 200
    ) -> list[MessageView]:
        patient_id = await reading_scope(self._trail, actor, patient_id)
        if status is not None and status not in MESSAGE_STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(MESSAGE_STATUSES)}")
        async with self._uow.reading() as uow:
            found = await uow.message_log.listed(patient_id, status, limit)
        seen = sorted({m.patient_id for m in found} | ({patient_id} if patient_id else set()))
        await self._trail.record_alone(actor, READ, [Access("patient", p, p) for p in seen])
        return [MessageView.of(m, self._renderer) for m in found]
