"""Building the webhooks context; bootstrap calls `build_webhooks`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

import httpx

from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.shared.clock import Clock
from clinicflow.webhooks.domain.retry import Random, RetrySchedule
from clinicflow.webhooks.domain.rules import DEFAULT_EVENT_TYPES
from clinicflow.webhooks.handlers import WebhookFanout
from clinicflow.webhooks.sender import WebhookSender
from clinicflow.webhooks.service import WebhookService
from clinicflow.webhooks.targets import TargetPolicy


@dataclass(frozen=True, slots=True)
class Webhooks:
    fanout: WebhookFanout  # register with the bus
    sender: WebhookSender  # call `send_due(clock.now())` every few seconds (serve, worker)
    service: WebhookService  # the API's use cases (container attribute `webhooks`)


def build_webhooks(
    db: Database,
    clock: Clock,
    keys: KeyRing,
    http: httpx.AsyncClient,
    *,
    known_types: Collection[str] = DEFAULT_EVENT_TYPES,
    trail: AuditTrail | None = None,
    schedule: RetrySchedule | None = None,
    rand: Random | None = None,
    timeout: float = 10.0,
    targets: TargetPolicy | None = None,
    previous_secret_ttl: timedelta = timedelta(hours=24),
) -> Webhooks:
    """`known_types`: what subscriptions may name, and what "*" covers; every event type the
    platform publishes belongs here, or no webhook receives it. `targets`: where receivers
    may be (public https addresses by default)."""
    sender = WebhookSender(
        db=db,
        clock=clock,
        keys=keys,
        http=http,
        schedule=schedule,
        rand=rand,
        timeout=timeout,
        targets=targets,
    )
    service = WebhookService(
        db=db,
        clock=clock,
        keys=keys,
        trail=trail or AuditTrail(db, clock),
        sender=sender,
        known_types=known_types,
        previous_secret_ttl=previous_secret_ttl,
    )
    return Webhooks(
        WebhookFanout(db=db, clock=clock, sender=sender, known_types=known_types), sender, service
    )
