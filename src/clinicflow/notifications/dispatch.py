"""Planning, recording and sending the messages of one event (or one reminder), about a
visit or a payment.

In the write transaction: the patient's contact details are read (a PHI read, audited as the
system's "notify"), the messages are planned and inserted (idempotent on event, channel and
template). After it commits, each message is claimed (status `sending`, committed) before its
provider call, then marked sent or failed, each in a short transaction of its own, so no
network call holds a database lock.

The claim is what makes a redelivered event harmless: a message whose send completed is
`sent` (or `delivered`) and is never claimed again, and one claimed by a live worker is left
to it. A message left in `sending` by a worker that died inside the provider call is claimed
again only after `sending_timeout` (by the event's redelivery or by `recovery.StuckMessages`),
and sent with the same Message-ID, derived from the message's id, so mail systems that saw
the first copy drop the second.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.infra.db import Database, insert_ignoring_duplicates
from clinicflow.notifications import ics
from clinicflow.notifications import repository as repo
from clinicflow.notifications.channels import Channel, LocalChannel, Outgoing, message_id_header
from clinicflow.notifications.domain.plan import Contact, plan
from clinicflow.notifications.domain.subject import Subject, booking_of
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.ports import Attachment, ContactSource, DeliveryError
from clinicflow.notifications.push import PushStore
from clinicflow.notifications.render import Renderer
from clinicflow.notifications.tables import messages
from clinicflow.shared.actor import SYSTEM
from clinicflow.shared.clock import Clock

CALENDAR_KINDS = ("confirmation", "rescheduled", "cancelled")


class DeliveryFailed(Exception):
    """Some messages of an event could not be sent; raised so the bus delivers it again."""


@dataclass(frozen=True, slots=True)
class Prepared:
    subject: Subject
    contact: Contact | None
    rows: list[Any] = field(default_factory=list)  # queued, failed or stuck, to send now


class Dispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        contacts: ContactSource,
        trail: AuditTrail,
        renderer: Renderer,
        channels: Mapping[str, Channel],
        clinic_email: str | None = None,
        push: PushStore | None = None,
        sending_timeout: timedelta = timedelta(minutes=5),
    ) -> None:
        """`push`: the patients' browsers, given only with a "push" channel; without it no
        push message is planned (a push has nothing to fall back to locally).
        `sending_timeout`: how long a claimed message may stay `sending` before it is taken
        as abandoned (its worker died) and sent again."""
        self._db = db
        self._clock = clock
        self._contacts = contacts
        self._trail = trail
        self._renderer = renderer
        self._channels = dict(channels)
        self._local = LocalChannel()
        self._clinic_email = clinic_email
        self._push = push
        self.sending_timeout = sending_timeout

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._db.write()

    async def prepare(
        self, conn: AsyncConnection, event_id: str, kind: str, subject: Subject, patient_id: str
    ) -> Prepared:
        existing = await repo.messages_of(conn, event_id)
        abandoned = self._abandoned_before()
        if existing and not any(repo.sendable(r, abandoned) for r in existing):
            return Prepared(subject, None)  # sent, skipped or being sent: nothing to do
        contact = await self._contact(conn, patient_id)
        if contact is None:
            return Prepared(subject, None)
        if not existing:
            now = self._clock.now()
            rows = [
                repo.message_row(
                    event_id,
                    patient_id,
                    booking_of(subject),
                    self._channel_for(p.channel, p.skip_reason),
                    p.template,
                    subject.facts(),
                    now,
                    p.skip_reason,
                )
                for p in plan(kind, contact)
            ]
            await insert_ignoring_duplicates(conn, messages, rows)
        return Prepared(subject, contact, await repo.unsent_of(conn, event_id, abandoned))

    async def send(self, prepared: Prepared) -> None:
        failed = [r.id for r in prepared.rows if not await self._send_one(r, prepared)]
        if failed:
            raise DeliveryFailed(f"{len(failed)} message(s) not sent: {', '.join(failed)}")

    def _abandoned_before(self) -> datetime:
        return self._clock.now() - self.sending_timeout

    def _channel_for(self, planned: str, skip_reason: str | None) -> str:
        if skip_reason or planned in self._channels:
            return planned
        return "local"

    async def _contact(self, conn: AsyncConnection, patient_id: str) -> Contact | None:
        reach = await self._contacts.reach(conn, patient_id)
        if reach is None:
            return None
        await self._trail.record(
            conn, SYSTEM, "notify", [Access("patient", patient_id, patient_id)]
        )
        push_since = await self._push.newest(conn, patient_id) if self._push else None
        return Contact(reach.email, reach.phone, reach.prefs, push_since)

    async def _send_one(self, row: Any, prepared: Prepared) -> bool:
        """False when it could not be sent; True when sent, or left to another worker."""
        assert prepared.contact is not None
        async with self._db.write() as conn:
            now = self._clock.now()
            if not await repo.claim(conn, row.id, now, now - self.sending_timeout):
                return True  # sent meanwhile, or claimed by a live worker
        kind, planned = row.template.split(".", 1)
        channel = self._channels.get(row.channel, self._local)
        # A push has no address: its channel finds the patient's browsers by patient id.
        address = {"email": prepared.contact.email, "sms": prepared.contact.phone}.get(planned)
        try:
            rendered = self._renderer.render(row.template, prepared.subject)
            attachments = await self._attachments(row, kind, prepared.subject)
            outgoing = Outgoing(
                address or "",
                rendered,
                attachments,
                patient_id=row.patient_id,
                message_id=message_id_header(row.id, self._clinic_email),
            )
            result = await channel.deliver(outgoing)
        except Exception as exc:  # any failure is recorded, then retried
            async with self._db.write() as conn:
                await repo.mark_claimed(
                    conn, row.id, self._clock.now(), status="failed", reason=_why(exc)
                )
            return False
        # "delivered" only from a provider that says so (the local mailbox, the table).
        status = "delivered" if result.status == "delivered" else "sent"
        async with self._db.write() as conn:
            await repo.mark_claimed(
                conn,
                row.id,
                self._clock.now(),
                status=status,
                provider=result.provider[:32],
                provider_id=result.provider_id,
                reason=None,
            )
        return True

    async def _attachments(self, row: Any, kind: str, visit: Subject) -> tuple[Attachment, ...]:
        if row.channel != "email" or kind not in CALENDAR_KINDS or not isinstance(visit, Visit):
            return ()
        async with self._db.read() as conn:
            sequence = await repo.email_count(conn, visit.booking_id, row.id)
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
