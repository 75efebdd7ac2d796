"""The notifications context's wiring, with the clinic's one email sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from clinicflow.adapters.messaging.compose import compose_providers
from clinicflow.adapters.messaging.plain import PlainMailer
from clinicflow.bootstrap._providers import push_sender
from clinicflow.bootstrap.core import Core
from clinicflow.identity.mailer import Mailer
from clinicflow.notifications.wiring import Notifications, build_notifications
from clinicflow.patients.contacts.service import SmsConsent


@dataclass(frozen=True)
class MessagingParts:
    notifications: Notifications
    mailer: Mailer  # the clinic's one email sender, for plain messages


def wire_notifications(core: Core, *, consent: SmsConsent) -> MessagingParts:
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
    )
    # Sign-in links and waitlist mails leave by the same sender as booking messages.
    return MessagingParts(notifications=notifications, mailer=PlainMailer(providers.email))
