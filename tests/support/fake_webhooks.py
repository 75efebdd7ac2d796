"""The webhooks context without a database: in-memory subscriptions, deliveries and attempts
behind a fake unit of work (`FakeWebhooksUnitOfWork`, a `FakeTransaction`), with the rules
the use cases rely on — a delivery is unique per (subscription, event), a claim is won once
(compare-and-set on attempts and due time), an attempt recorded on a lost claim is kept but
moves nothing — a fake DNS, and receivers answered by `httpx.MockTransport` (the network
edge). The SQL is tested in tests/integration/test_webhooks*.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx

from clinicflow.infra.crypto import KeyRing
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.records import from_attributes
from clinicflow.webhooks.commands import DeliveryFilter, NewSubscription, Outgoing
from clinicflow.webhooks.domain.deliveries import Claim, Outcome
from clinicflow.webhooks.domain.retry import RetrySchedule
from clinicflow.webhooks.domain.rules import DEFAULT_EVENT_TYPES
from clinicflow.webhooks.domain.subscriptions import Subscription
from clinicflow.webhooks.domain.targets import TargetPolicy
from clinicflow.webhooks.jobs import WebhookSender
from clinicflow.webhooks.service import WebhookService
from clinicflow.webhooks.subscribers import WebhookFanout
from clinicflow.webhooks.views import AttemptView, DeliveryView
from support.fake_tables import OnTables, Repository, TablesTransaction
from support.fake_trail import FakeTrail
from support.fake_uow import FakeFactory, Ledger


@dataclass
class SubscriptionRow:
    subscription: Subscription
    secret_enc: str
    previous_secret_enc: str | None = None


@dataclass
class DeliveryRow:
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    body: str
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    updated_at: datetime | None = None


@dataclass
class WebhookTables:
    subscriptions: dict[str, SubscriptionRow] = field(default_factory=dict)
    deliveries: dict[str, DeliveryRow] = field(default_factory=dict)
    attempts: list[tuple[str, AttemptView]] = field(default_factory=list)  # (delivery id, …)


class FakeSubscriptions(OnTables[WebhookTables]):
    async def active(self) -> list[Subscription]:
        found = [r.subscription for r in self._t.subscriptions.values() if r.subscription.active]
        return sorted(found, key=lambda s: s.id)

    async def get(self, subscription_id: str) -> Subscription | None:
        row = self._t.subscriptions.get(subscription_id)
        return None if row is None else row.subscription

    async def listed(self) -> list[Subscription]:
        found = [r.subscription for r in self._t.subscriptions.values()]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    async def add(self, new: NewSubscription, now: datetime) -> None:
        values = new.values
        description = values.get("description")
        event_types = values["event_types"]
        assert isinstance(event_types, list)
        made = Subscription(
            id=new.id,
            url=str(values["url"]),
            event_types=tuple(event_types),
            description=None if description is None else str(description),
            active=True,
            created_at=now,
            updated_at=now,
            created_by=new.created_by,
            previous_secret_expires_at=None,
        )
        self._t.subscriptions[new.id] = SubscriptionRow(made, new.secret_enc)

    async def change(
        self, subscription_id: str, values: Mapping[str, object], now: datetime
    ) -> bool:
        row = self._t.subscriptions.get(subscription_id)
        if row is None:
            return False
        changes = dict(values)
        if "secret_enc" in changes:
            row.secret_enc = str(changes.pop("secret_enc"))
        if "previous_secret_enc" in changes:
            previous = changes.pop("previous_secret_enc")
            row.previous_secret_enc = None if previous is None else str(previous)
        if "event_types" in changes:
            changes["event_types"] = tuple(changes["event_types"])  # type: ignore[arg-type]
        row.subscription = replace(row.subscription, updated_at=now, **changes)  # type: ignore[arg-type]
        return True

    async def sealed_secret(self, subscription_id: str) -> str | None:
        row = self._t.subscriptions.get(subscription_id)
        return None if row is None else row.secret_enc

    async def delete(self, subscription_id: str) -> bool:
        if self._t.subscriptions.pop(subscription_id, None) is None:
            return False
        gone = [k for k, d in self._t.deliveries.items() if d.subscription_id == subscription_id]
        for key in gone:
            del self._t.deliveries[key]
        self._t.attempts = [(d, a) for d, a in self._t.attempts if d not in gone]
        return True


class FakeDeliveries(OnTables[WebhookTables]):
    async def add(self, subscription_ids: Sequence[str], event: Outgoing, now: datetime) -> None:
        taken = {(d.subscription_id, d.event_id) for d in self._t.deliveries.values()}
        for subscription_id in subscription_ids:
            if (subscription_id, event.event_id) in taken:
                continue
            made = DeliveryRow(
                str(uuid.uuid4()), subscription_id, event.event_id, event.event_type, event.body,
                now, next_attempt_at=now, updated_at=now,
            )  # fmt: skip
            self._t.deliveries[made.id] = made

    async def claim_due(
        self, now: datetime, until: datetime, limit: int, event_id: str | None = None
    ) -> list[Claim]:
        due = [
            d
            for d in self._t.deliveries.values()
            if d.status == "pending"
            and d.next_attempt_at is not None
            and d.next_attempt_at <= now
            and self._t.subscriptions[d.subscription_id].subscription.active
            and event_id in (None, d.event_id)
        ]
        due.sort(key=lambda d: (d.next_attempt_at or now, d.id))
        claimed = []
        for d in due[:limit]:
            d.next_attempt_at, d.updated_at = until, now
            claimed.append(self._claim(d, until))
        return claimed

    async def claim_failed(self, delivery_id: str, now: datetime, until: datetime) -> Claim | None:
        d = self._t.deliveries.get(delivery_id)
        if d is None or d.status != "failed":
            return None
        d.status, d.next_attempt_at, d.updated_at = "pending", until, now
        return self._claim(d, until)

    async def record(self, claim: Claim, outcome: Outcome) -> bool:
        number = claim.attempts + 1
        attempt = AttemptView(
            number, outcome.at, outcome.status_code, outcome.error, outcome.duration_ms
        )
        self._t.attempts.append((claim.delivery_id, attempt))
        d = self._t.deliveries.get(claim.delivery_id)
        if d is None or d.attempts != claim.attempts or d.status != "pending":
            return False
        d.attempts, d.status = number, outcome.status
        d.next_attempt_at, d.updated_at = outcome.next_attempt_at, outcome.at
        d.last_status_code, d.last_error = outcome.status_code, outcome.error
        return True

    def _claim(self, d: DeliveryRow, until: datetime) -> Claim:
        row = self._t.subscriptions[d.subscription_id]
        return from_attributes(
            Claim,
            d,
            delivery_id=d.id,
            until=until,
            url=row.subscription.url,
            secret_enc=row.secret_enc,
            previous_secret_enc=row.previous_secret_enc,
            previous_secret_expires_at=row.subscription.previous_secret_expires_at,
        )


class FakeDeliveryLog(OnTables[WebhookTables]):
    async def deliveries(self, where: DeliveryFilter) -> list[DeliveryView]:
        found = [
            d
            for d in self._t.deliveries.values()
            if where.subscription_id in (None, d.subscription_id)
            and where.status in (None, d.status)
            and where.event_id in (None, d.event_id)
            and where.delivery_id in (None, d.id)
        ]
        found.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return [self._view(d) for d in found[: where.limit]]

    def _view(self, d: DeliveryRow) -> DeliveryView:
        log = sorted((a for k, a in self._t.attempts if k == d.id), key=lambda a: a.number)
        return from_attributes(
            DeliveryView,
            d,
            attempt_count=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            updated_at=d.updated_at or d.created_at,
            attempts=log,
        )


class FakeWebhooksUnitOfWork(TablesTransaction[WebhookTables]):
    kept = ("subscriptions", "deliveries", "attempts")

    subscriptions = Repository(FakeSubscriptions)
    deliveries = Repository(FakeDeliveries)
    log = Repository(FakeDeliveryLog)


class Dns:
    """A DNS server's answers, as a test (or an attacker controlling a zone) sets them."""

    def __init__(self, **records: str) -> None:
        self.records = dict(records)
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.records:
            raise OSError(f"{host}: no such name")
        return [self.records[host]]


@dataclass
class Received:
    url: str
    headers: httpx.Headers
    body: bytes


class Receivers:
    """Every receiver on the internet, as a mock transport: answers in order per call
    (`answer(500, 500, 200)`), then `then`; what arrived is kept."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: list[int | Exception] = []
        self._then: int | Exception = 200

    def answer(self, *codes: int | Exception, then: int | Exception = 200) -> None:
        self._answers, self._then = list(codes), then

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(Received(str(request.url), request.headers, request.content))
        answer = self._answers.pop(0) if self._answers else self._then
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, text="ignored")

    def json(self, n: int = -1) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.received[n].body)
        return loaded


@dataclass
class FakeWebhooks:
    """One in-memory webhooks database, wired as bootstrap wires it."""

    clock: FixedClock
    tables: WebhookTables = field(default_factory=WebhookTables)
    ledger: Ledger = field(default_factory=Ledger)
    keys: KeyRing = field(default_factory=KeyRing.generate)
    dns: Dns = field(default_factory=lambda: Dns(**{"crm.example.com": "93.184.215.14"}))
    receivers: Receivers = field(default_factory=Receivers)
    trail: FakeTrail = field(default_factory=FakeTrail)
    policy: TargetPolicy = field(default_factory=TargetPolicy)
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    jitter: float = 0.5

    def __post_init__(self) -> None:
        self.uow: FakeFactory[FakeWebhooksUnitOfWork] = FakeFactory(
            lambda write: FakeWebhooksUnitOfWork(self.ledger, self.tables, write=write)
        )
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self.receivers.handle))
        self.sender = WebhookSender(
            uow=self.uow,
            clock=self.clock,
            keys=self.keys,
            http=self.http,
            schedule=self.schedule,
            rand=lambda: self.jitter,
            policy=self.policy,
            resolver=self.dns.resolve,
        )
        self.service = WebhookService(
            uow=self.uow,
            clock=self.clock,
            keys=self.keys,
            trail=self.trail,
            sender=self.sender,
            known_types=DEFAULT_EVENT_TYPES,
        )
        self.fanout = WebhookFanout(
            uow=self.uow, clock=self.clock, sender=self.sender, known_types=DEFAULT_EVENT_TYPES
        )

    def audited(self) -> list[tuple[str, str, str]]:
        """(actor id, action, subscription id) of the entries committed."""
        return [(e.actor_id, e.action, e.resource_id) for e, _ in self.ledger.audited]
