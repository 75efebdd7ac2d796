"""Building the notifications context from its parts; bootstrap calls `build_notifications`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from clinicflow.catalog.domain import Catalog
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.notifications.channels import Channel, EmailChannel, SmsChannel
from clinicflow.notifications.dispatch import Dispatcher
from clinicflow.notifications.handlers import NotificationSubscriber
from clinicflow.notifications.ports import EmailSender, SmsSender
from clinicflow.notifications.queries import NotificationReader
from clinicflow.notifications.reminders import ReminderScheduler
from clinicflow.notifications.render import Renderer, RenderOptions
from clinicflow.patients.cipher import PatientCipher
from clinicflow.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class Notifications:
    subscriber: NotificationSubscriber  # register with the bus
    reminders: ReminderScheduler  # the worker calls `send_due(clock.now())` every minute
    reader: NotificationReader  # the API's reads (container attribute `notifications`)


def build_notifications(
    db: Database,
    clock: Clock,
    catalog: Catalog,
    keys: KeyRing,
    trail: AuditTrail,
    *,
    email: EmailSender | None = None,
    sms: SmsSender | None = None,
    public_url: str,
    clinic_email: str | None = None,
    reminder_offsets: Mapping[str, Sequence[timedelta]] | None = None,
    email_service_name: bool = True,
    sms_service_name: bool = False,
    ics_service_name: bool = False,
) -> Notifications:
    """`email`/`sms` None: that channel's messages are kept locally (channel "local") in the
    notifications table instead, readable at GET /v1/notifications."""
    channels: dict[str, Channel] = {}
    if email is not None:
        channels["email"] = EmailChannel(email)
    if sms is not None:
        channels["sms"] = SmsChannel(sms)
    options = RenderOptions(public_url, email_service_name, sms_service_name, ics_service_name)
    renderer = Renderer(catalog, options)
    dispatcher = Dispatcher(db, clock, PatientCipher(keys), trail, renderer, channels, clinic_email)
    return Notifications(
        subscriber=NotificationSubscriber(dispatcher, clock, reminder_offsets),
        reminders=ReminderScheduler(dispatcher),
        reader=NotificationReader(db, trail, renderer),
    )
