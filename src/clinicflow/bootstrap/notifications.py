"""The notifications context's wiring, with the clinic's one email sender."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from clinicflow.adapters.messaging.compose import compose_providers
from clinicflow.adapters.messaging.plain import PlainMailer
from clinicflow.bootstrap._providers import push_sender
from clinicflow.bootstrap.core import Core
from clinicflow.catalog.domain import Catalog
from clinicflow.identity import Mailer
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import Factory, UnitsOfWork
from clinicflow.notifications.callbacks.api import TWILIO_STATUS
from clinicflow.notifications.callbacks.service import ProviderWebhooks
from clinicflow.notifications.channels.service import (
    EmailChannel,
    PushChannel,
    SmsChannel,
)
from clinicflow.notifications.domain.render import Renderer, RenderOptions
from clinicflow.notifications.messages.jobs import StuckMessages
from clinicflow.notifications.messages.service import Dispatcher, NotificationReader
from clinicflow.notifications.ports import (
    Channel,
    ConsentRegistry,
    EmailEvents,
    EmailSender,
    NotificationsUnitOfWork,
    PushSender,
    SmsSender,
    SmsWebhooks,
    Trail,
)
from clinicflow.notifications.push.service import PushRegistry
from clinicflow.notifications.reminders.jobs import ExtraReminders, ReminderScheduler
from clinicflow.notifications.reminders.ports import RiskyBookings
from clinicflow.notifications.repository import SqlNotificationsUnitOfWork
from clinicflow.notifications.subscribers import ErasedPatients, NotificationSubscriber
from clinicflow.patients.contacts.service import SmsConsent
from clinicflow.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class Notifications:
    dispatcher: Dispatcher  # sends an event's planned messages (the jobs' and subscriber's)
    subscriber: NotificationSubscriber  # register with the bus
    reminders: ReminderScheduler  # the worker calls `send_due(clock.now())` every minute
    recovery: StuckMessages  # the worker calls `resume(clock.now())`: abandoned sends
    reader: NotificationReader  # the API's reads (GET /v1/notifications)
    webhooks: ProviderWebhooks  # what the providers send back (callbacks/api.py's routes)
    push: PushRegistry  # patients registering their browsers (push/api.py's routes)
    erasure: ErasedPatients  # register with the bus: forgets a de-identified patient's browsers
    # The extra reminder for risky visits (`schedule(clock.now())` every poll); None: off.
    extra_reminders: ExtraReminders | None = None


@dataclass(frozen=True)
class MessagingParts:
    notifications: Notifications
    mailer: Mailer  # the clinic's one email sender, for plain messages


def wire_notifications(
    core: Core, *, consent: SmsConsent, risks: RiskyBookings | None = None
) -> MessagingParts:
    settings = core.settings
    providers = compose_providers(settings, core.http, core.clock)
    push, push_key = push_sender(settings, core.http, core.clock)
    notifications = build_notifications(
        db=core.db,
        clock=core.clock,
        catalog=core.catalog,
        keys=core.keys,
        trail=core.trail,
        email=providers.email,
        sms=providers.sms,
        public_url=settings.public_url,
        clinic_email=settings.mail_sender,
        sms_status_callbacks=settings.sms_status_callbacks,
        sms_webhooks=providers.sms_webhooks,
        email_events=providers.email_events,
        consent=consent,
        push=push,
        push_public_key=push_key,
        push_ttl=settings.push_ttl_seconds,
        push_allow_loopback=settings.push_allow_loopback,
        sending_timeout=timedelta(seconds=settings.message_sending_timeout_seconds),
        reminder_offsets={
            key: [timedelta(minutes=m) for m in service.policy.reminder_minutes]
            for key, service in core.loaded.services.items()
        },
        risks=risks,
        extra_reminder_threshold=settings.no_show_extra_reminder_threshold,
    )
    # Sign-in links and waitlist mails leave by the same sender as booking messages.
    return MessagingParts(notifications=notifications, mailer=PlainMailer(providers.email))


def build_notifications(
    *,
    db: Database,
    clock: Clock,
    catalog: Catalog,
    keys: KeyRing,
    trail: AuditTrail,
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
    risks: RiskyBookings | None = None,
    extra_reminder_threshold: float | None = None,
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
    finished is sent again (with the same Message-ID).

    `risks` with `extra_reminder_threshold`: the extra reminder for visits whose cached
    no-show risk is above it (`ExtraReminders`); either None: none."""
    uow = Factory(db, partial(SqlNotificationsUnitOfWork, keys=keys))
    channels: dict[str, Channel] = {}
    if email is not None:
        channels["email"] = EmailChannel(email)
    if sms is not None:
        callback = public_url.rstrip("/") + TWILIO_STATUS if sms_status_callbacks else None
        channels["sms"] = SmsChannel(sms, callback)
    if push is not None:
        if not push_public_key:
            raise ValueError("a push sender needs push_public_key, for browsers to subscribe")
        channels["push"] = PushChannel(sender=push, uow=uow, clock=clock, ttl=push_ttl)
    options = RenderOptions(
        public_url=public_url,
        email_service_name=email_service_name,
        sms_service_name=sms_service_name,
        ics_service_name=ics_service_name,
    )
    return notifications_over(
        uow,
        clock=clock,
        trail=trail,
        renderer=Renderer(catalog, options),
        channels=channels,
        public_url=public_url,
        clinic_email=clinic_email,
        push_public_key=push_public_key if push is not None else None,
        push_allow_loopback=push_allow_loopback,
        sending_timeout=sending_timeout,
        reminder_offsets=reminder_offsets,
        sms_webhooks=sms_webhooks,
        email_events=email_events,
        consent=consent,
        risks=risks,
        extra_reminder_threshold=extra_reminder_threshold,
    )


def notifications_over(
    uow: UnitsOfWork[NotificationsUnitOfWork],
    *,
    clock: Clock,
    trail: Trail,
    renderer: Renderer,
    channels: Mapping[str, Channel],
    public_url: str,
    clinic_email: str | None,
    push_public_key: str | None,
    push_allow_loopback: bool,
    sending_timeout: timedelta,
    reminder_offsets: Mapping[str, Sequence[timedelta]] | None,
    sms_webhooks: SmsWebhooks | None,
    email_events: EmailEvents | None,
    consent: ConsentRegistry | None,
    risks: RiskyBookings | None = None,
    extra_reminder_threshold: float | None = None,
) -> Notifications:
    """The context's use cases over any units of work (SQL above; the unit tests' in-memory
    fake) and the channels given; push is planned when a "push" channel is among them."""
    dispatcher = Dispatcher(
        uow=uow,
        clock=clock,
        renderer=renderer,
        channels=channels,
        clinic_email=clinic_email,
        plans_push="push" in channels,
        sending_timeout=sending_timeout,
    )
    return Notifications(
        dispatcher=dispatcher,
        erasure=ErasedPatients(uow=uow),
        subscriber=NotificationSubscriber(
            uow=uow, dispatcher=dispatcher, clock=clock, reminder_offsets=reminder_offsets
        ),
        reminders=ReminderScheduler(uow=uow, dispatcher=dispatcher),
        extra_reminders=None
        if risks is None or extra_reminder_threshold is None
        else ExtraReminders(uow=uow, risks=risks, threshold=extra_reminder_threshold),
        recovery=StuckMessages(uow=uow, dispatcher=dispatcher),
        reader=NotificationReader(uow=uow, trail=trail, renderer=renderer),
        webhooks=ProviderWebhooks(
            uow=uow,
            clock=clock,
            public_url=public_url,
            sms=sms_webhooks,
            email=email_events,
            consent=consent,
        ),
        push=PushRegistry(
            uow=uow,
            clock=clock,
            trail=trail,
            public_key=push_public_key,
            allow_loopback=push_allow_loopback,
        ),
    )
