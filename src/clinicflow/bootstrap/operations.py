"""What runs beside the requests: the event bus's subscribers and the periodic jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from clinicflow.adapters.calendars.noop import NoCalendar
from clinicflow.adapters.ehr.noop import NoEhr
from clinicflow.analytics.repository import SqlAnalyticsUnitOfWork
from clinicflow.analytics.subscribers import EventRecorder
from clinicflow.bootstrap.calendars import Calendars
from clinicflow.bootstrap.core import Core
from clinicflow.bootstrap.notifications import Notifications
from clinicflow.bootstrap.payments import Payments
from clinicflow.bootstrap.webhooks import Webhooks
from clinicflow.infra import audit
from clinicflow.infra.audit_anchor import CheckpointWriter
from clinicflow.infra.bus import Subscriber
from clinicflow.infra.events import EventBus, build_bus
from clinicflow.infra.jobs import Job, Jobs
from clinicflow.infra.unit_of_work import Factory
from clinicflow.integrations.ports import CalendarSync, EhrSync
from clinicflow.integrations.subscribers import CalendarSubscriber, EhrSubscriber
from clinicflow.waitlist import Waitlist


def wire_bus(
    core: Core,
    *,
    notifications: Notifications,
    webhooks: Webhooks,
    payments: Payments,
    waitlist: Waitlist,
    calendar: CalendarSync | None = None,
    ehr: EhrSync | None = None,
    extra: Sequence[Subscriber] = (),
) -> EventBus:
    # The calendar write-back: Microsoft 365 when configured (bootstrap/microsoft.py); the
    # EHR: MediRecords when configured (bootstrap/integrations.py). Otherwise the no-op ones
    # acknowledge.
    subscribers: list[Subscriber] = [
        notifications.subscriber,
        notifications.erasure,
        EventRecorder(uow=Factory(core.db, SqlAnalyticsUnitOfWork), clock=core.clock),
        CalendarSubscriber(calendar or NoCalendar()),
        EhrSubscriber(ehr or NoEhr()),
        webhooks.fanout,
        payments.subscriber,
        *waitlist.subscribers,
        *extra,
    ]
    return build_bus(core.settings, core.db, core.clock, subscribers)


def wire_jobs(
    core: Core,
    *,
    notifications: Notifications,
    webhooks: Webhooks,
    waitlist: Waitlist,
    calendars: Calendars | None = None,
    extra: Sequence[Job] = (),
) -> Jobs:
    settings, db = core.settings, core.db
    every = timedelta(seconds=settings.reminder_poll_seconds)
    waitlist_every = timedelta(seconds=settings.waitlist_poll_seconds)
    jobs = [
        Job("reminders", every, notifications.reminders.send_due),
        Job("message_recovery", every, notifications.recovery.resume),
        *(
            [Job("extra_reminders", every, notifications.extra_reminders.schedule)]
            if notifications.extra_reminders is not None
            else []
        ),
        Job("webhook_retries", timedelta(seconds=5), webhooks.sender.send_due),
        # Entries whose process died between their commit and their seal (infra.audit).
        Job("audit_seal", timedelta(seconds=10), lambda _now: audit.seal(db)),
        # The chain's head, kept outside the database (infra.audit_anchor).
        Job(
            "audit_checkpoint",
            timedelta(seconds=settings.audit_checkpoint_seconds),
            CheckpointWriter(db=db, path=settings.resolved_audit_checkpoint_file).run,
        ),
        *(Job(name, waitlist_every, run) for name, run in waitlist.jobs()),
        # The external calendars' poll (none configured: no job).
        *([calendars.poll] if calendars is not None and calendars.poll is not None else []),
        *extra,  # Microsoft 365 subscription renewal (when configured), the lake's writer
    ]
    return Jobs(core.clock, jobs)
