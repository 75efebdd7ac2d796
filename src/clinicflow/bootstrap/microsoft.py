"""Microsoft 365 calendars' wiring: the Graph adapter when configured (write-back target,
busy-time source, subscriptions), and the change-notification route's service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

from clinicflow.adapters.calendars.microsoft import (
    NOTIFICATIONS_PATH,
    GraphApp,
    GraphClient,
    MicrosoftCalendar,
)
from clinicflow.adapters.calendars.noop import NoCalendar
from clinicflow.bootstrap.core import Core
from clinicflow.calendars.subscriptions.ports import SyncTrigger
from clinicflow.calendars.subscriptions.service import ChangeNotifications, log_only
from clinicflow.catalog import Catalog
from clinicflow.infra.jobs import Job
from clinicflow.integrations.ports import CalendarSync
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock

# How often subscriptions are checked; each lives ~70 hours and is renewed 12 hours early.
SUBSCRIPTION_CHECK = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Microsoft:
    calendar: MicrosoftCalendar | None  # None: not configured (or no practitioner mapped)
    write_back: CalendarSync  # the bus's calendar subscriber calls this
    notifications: ChangeNotifications  # POST /v1/webhooks/microsoft

    def jobs(self) -> list[Job]:
        calendar = self.calendar
        if calendar is None or calendar.subscriptions is None:
            return []
        return [Job("microsoft_subscriptions", SUBSCRIPTION_CHECK, calendar.keep_subscriptions)]


def wire_microsoft(core: Core, *, on_change: SyncTrigger = log_only) -> Microsoft:
    """`on_change(source, practitioner)`: what a notification triggers. The calendars
    service's delta sync goes here once it is wired; until then it is logged, and the
    periodic sync catches up."""
    calendar = microsoft_calendar(core.settings, core.loaded, core.http, core.clock)
    keys = calendar if calendar is not None and calendar.client_states is not None else None
    return Microsoft(
        calendar=calendar,
        write_back=calendar if calendar is not None else NoCalendar(),
        notifications=ChangeNotifications(keys=keys, on_change=on_change),
    )


def microsoft_calendar(
    settings: Settings,
    catalog: Catalog,
    http: httpx.AsyncClient,
    clock: Clock,
    *,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> MicrosoftCalendar | None:
    """The clinic's Microsoft 365 calendars, when the app registration is configured and at
    least one practitioner has a mailbox; otherwise None."""
    secret = settings.microsoft_client_secret
    if not (settings.microsoft_tenant_id and settings.microsoft_client_id and secret):
        return None
    mailboxes = {
        key: p.microsoft_mailbox
        for key, p in catalog.practitioners.items()
        if p.microsoft_mailbox is not None
    }
    if not mailboxes:
        return None
    app = GraphApp(
        tenant=settings.microsoft_tenant_id,
        client_id=settings.microsoft_client_id,
        client_secret=secret.get_secret_value(),
        login_url=settings.microsoft_login_url,
        graph_url=settings.microsoft_graph_url,
    )
    graph = GraphClient(
        http,
        app,
        clock,
        max_in_flight=settings.microsoft_max_in_flight,
        max_retry_wait=settings.microsoft_max_retry_wait_seconds,
        sleep=sleep or asyncio.sleep,
    )
    notify = settings.microsoft_notification_secret
    return MicrosoftCalendar(
        graph,
        mailboxes,
        clock,
        service_names={key: s.name for key, s in catalog.services.items()},
        notification_secret=notify.get_secret_value() if notify else None,
        notification_url=settings.public_url.rstrip("/") + NOTIFICATIONS_PATH,
        subscription_minutes=settings.microsoft_subscription_minutes,
        renew_before=timedelta(minutes=settings.microsoft_subscription_renew_minutes),
        window_days=settings.microsoft_window_days,
        live_timeout=settings.microsoft_live_timeout_seconds,
    )
