"""Building the notifications context from its parts; bootstrap calls `build_notifications`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from clinicflow.catalog.domain import Catalog
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.notifications.channels import Channel, EmailChannel, PushChannel, SmsChannel
from clinicflow.notifications.dispatch import Dispatcher
from clinicflow.notifications.handlers import NotificationSubscriber
from clinicflow.notifications.inbound import ProviderWebhooks
from clinicflow.notifications.ports import (
    ConsentRegistry,
    EmailEvents,
    EmailSender,
    PushSender,
    SmsSender,
    SmsWebhooks,
)
from clinicflow.notifications.provider_api import TWILIO_STATUS
from clinicflow.notifications.push import ErasedPatients, PushStore
from clinicflow.notifications.push_api import PushRegistry
from clinicflow.notifications.queries import NotificationReader
from clinicflow.notifications.recovery import StuckMessages
from clinicflow.notifications.reminders import ReminderScheduler
from clinicflow.notifications.render import Renderer, RenderOptions
from clinicflow.patients import ContactBook
from clinicflow.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class Notifications:
    subscriber: NotificationSubscriber  # register with the bus
    reminders: ReminderScheduler  # the worker calls `send_due(clock.now())` every minute
    recovery: StuckMessages  # the worker calls `resume(clock.now())`: abandoned sends
    reader: NotificationReader  # the API's reads (container attribute `notifications`)
    webhooks: ProviderWebhooks  # what the providers send back (provider_api's routes)
    push: PushRegistry  # patients registering their browsers (push_api's routes)
    erasure: ErasedPatients  # register with the bus: forgets a de-identified patient's browsers


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
    sms_status_callbacks: bool = True,
    sms_webhooks: SmsWebhooks | None = None,
    email_events: EmailEvents | None = None,
    consent: ConsentRegistry | None = None,
    push: PushSender | None = None,
    push_public_key: str | None = None,
    push_ttl: int = 86_400,
    push_allow_loopback: bool = False,
    sending_timeout: timedelta = timedelta(minutes=5),
) -> Notifications:
    """`email`: the clinic's one email sender; bootstrap always gives one (the local mailbox
    when no provider is configured). `sms` None: SMS messages are kept locally (channel
    "local") in the notifications table instead, readable at GET /v1/notifications; so is
    email when `email` is None, which only a caller other than bootstrap can choose.

    `push` (with `push_public_key`, the VAPID applicationServerKey browsers subscribe with):
    patients with a registered browser get push messages too. None: no push is planned at
    all; a push has no local stand-in, and a patient whose browser is not registered never
    asked for one. `push_allow_loopback` accepts endpoints on this machine (tests, dev).

    `sending_timeout`: after how long a message claimed for sending by a worker that never
    finished is sent again (with the same Message-ID)."""
    channels: dict[str, Channel] = {}
    if email is not None:
        channels["email"] = EmailChannel(email)
    if sms is not None:
        callback = public_url.rstrip("/") + TWILIO_STATUS if sms_status_callbacks else None
        channels["sms"] = SmsChannel(sms, callback)
    options = RenderOptions(
        public_url=public_url,
        email_service_name=email_service_name,
        sms_service_name=sms_service_name,
        ics_service_name=ics_service_name,
    )
    renderer = Renderer(catalog, options)
    devices = PushStore(db, keys, clock)
    if push is not None:
        if not push_public_key:
            raise ValueError("a push sender needs push_public_key, for browsers to subscribe")
        channels["push"] = PushChannel(push, devices, push_ttl)
    dispatcher = Dispatcher(
        db=db,
        clock=clock,
        contacts=ContactBook(keys),
        trail=trail,
        renderer=renderer,
        channels=channels,
        clinic_email=clinic_email,
        push=devices if push is not None else None,
        sending_timeout=sending_timeout,
    )
    return Notifications(
        erasure=ErasedPatients(devices),
        subscriber=NotificationSubscriber(dispatcher, clock, reminder_offsets),
        reminders=ReminderScheduler(dispatcher),
        recovery=StuckMessages(dispatcher),
        reader=NotificationReader(db, trail, renderer),
        webhooks=ProviderWebhooks(
            db, clock, public_url, sms=sms_webhooks, email=email_events, consent=consent
        ),
        push=PushRegistry(
            db=db,
            trail=trail,
            store=devices,
            public_key=push_public_key if push is not None else None,
            allow_loopback=push_allow_loopback,
        ),
    )
