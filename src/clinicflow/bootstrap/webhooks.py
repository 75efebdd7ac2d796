"""The webhooks context's wiring: where subscriptions may point, and who sends."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

import httpx

from clinicflow.bootstrap.core import Core
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import Factory
from clinicflow.shared.clock import Clock
from clinicflow.webhooks.domain.retry import Random, RetrySchedule
from clinicflow.webhooks.domain.rules import DEFAULT_EVENT_TYPES
from clinicflow.webhooks.domain.targets import TargetPolicy
from clinicflow.webhooks.jobs import WebhookSender, system_resolver
from clinicflow.webhooks.ports import Resolver
from clinicflow.webhooks.repository import SqlWebhooksUnitOfWork
from clinicflow.webhooks.service import WebhookService
from clinicflow.webhooks.subscribers import WebhookFanout


@dataclass(frozen=True, slots=True)
class Webhooks:
    fanout: WebhookFanout  # register with the bus
    sender: WebhookSender  # call `send_due(clock.now())` every few seconds (serve, worker)
    service: WebhookService  # the API's use cases


def wire_webhooks(core: Core) -> Webhooks:
    settings = core.settings
    targets = TargetPolicy(
        allow_http=settings.webhook_allow_http,
        allowed_networks=tuple(settings.webhook_allowed_networks),
    )
    return build_webhooks(
        db=core.db,
        clock=core.clock,
        keys=core.keys,
        http=core.http,
        trail=core.trail,
        targets=targets,
    )


def build_webhooks(
    *,
    db: Database,
    clock: Clock,
    keys: KeyRing,
    http: httpx.AsyncClient,
    known_types: Collection[str] = DEFAULT_EVENT_TYPES,
    trail: AuditTrail | None = None,
    schedule: RetrySchedule | None = None,
    rand: Random | None = None,
    timeout: float = 10.0,
    targets: TargetPolicy | None = None,
    resolver: Resolver = system_resolver,
    previous_secret_ttl: timedelta = timedelta(hours=24),
) -> Webhooks:
    """`known_types`: what subscriptions may name, and what "*" covers; every event type the
    platform publishes belongs here, or no webhook receives it. `targets`: where receivers
    may be (public https addresses by default); `resolver`: how their names are resolved
    (the machine's resolver; tests give a fake DNS)."""
    uow = Factory(db, SqlWebhooksUnitOfWork)
    sender = WebhookSender(
        uow=uow,
        clock=clock,
        keys=keys,
        http=http,
        schedule=schedule,
        rand=rand,
        timeout=timeout,
        policy=targets,
        resolver=resolver,
    )
    service = WebhookService(
        uow=uow,
        clock=clock,
        keys=keys,
        trail=trail or AuditTrail(db, clock),
        sender=sender,
        known_types=known_types,
        previous_secret_ttl=previous_secret_ttl,
    )
    fanout = WebhookFanout(uow=uow, clock=clock, sender=sender, known_types=known_types)
    return Webhooks(fanout=fanout, sender=sender, service=service)
