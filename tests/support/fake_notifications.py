"""The notifications context without a database: in-memory repositories behind a fake unit of
work (`FakeNotificationsUnitOfWork`, a `FakeTransaction`), with the same rules as the SQL ones
where the use cases depend on them — a message is unique per (event, channel, template) and a
claim is won once; a reminder is unique per (booking, kind, start); a browser's registration
is unique per endpoint — and the contact book, booking's word on a booking and the audit
trail as plain tables a test fills in (the tables and repositories: fake_notifications_tables.py).
Channels and providers are the fakes at the edge.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clinicflow.bootstrap.notifications import Notifications, notifications_over
from clinicflow.catalog.domain import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.infra.bus import Envelope
from clinicflow.notifications.domain.render import Renderer, RenderOptions
from clinicflow.notifications.ports import (
    Channel,
    ConsentRegistry,
    DeliveryError,
    EmailEvents,
    Outgoing,
    SendResult,
    SmsWebhooks,
)
from clinicflow.shared.clock import Clock, FixedClock
from support.app import CLINIC_YAML
from support.fake_notifications_tables import (
    FakeBookings,
    FakeContacts,
    FakeMessageLog,
    FakeMessages,
    FakePushSubscriptions,
    FakeReminders,
    NotificationTables,
    Reach,
)
from support.fake_tables import Repository, TablesTransaction
from support.fake_trail import FakeTrail
from support.fake_uow import FakeFactory, Ledger

# --- the unit of work ------------------------------------------------------------------------


class FakeNotificationsUnitOfWork(TablesTransaction[NotificationTables]):
    kept = ("messages", "reminders", "browsers")

    messages = Repository(FakeMessages)
    message_log = Repository(FakeMessageLog)
    reminders = Repository(FakeReminders)
    push = Repository(FakePushSubscriptions)
    contacts = Repository(FakeContacts)
    bookings = Repository(FakeBookings)


@dataclass
class FakeNotifications:
    """One in-memory notifications database: its tables, the ledger of what committed units
    of work published and audited, the audit trail's own reads and refusals, and the factory
    use cases are given."""

    tables: NotificationTables = field(default_factory=NotificationTables)
    ledger: Ledger = field(default_factory=Ledger)
    trail: FakeTrail = field(default_factory=FakeTrail)

    def __post_init__(self) -> None:
        self.uow: FakeFactory[FakeNotificationsUnitOfWork] = FakeFactory(
            lambda write: FakeNotificationsUnitOfWork(self.ledger, self.tables, write=write)
        )

    def wire(
        self,
        clock: Clock,
        catalog: Catalog,
        channels: Mapping[str, Channel],
        *,
        public_url: str = "https://clinic.example",
        clinic_email: str | None = "no-reply@clinic.example",
        push_public_key: str | None = None,
        reminder_offsets: Mapping[str, Sequence[timedelta]] | None = None,
        sending_timeout: timedelta = timedelta(minutes=5),
        sms_webhooks: SmsWebhooks | None = None,
        email_events: EmailEvents | None = None,
        consent: ConsentRegistry | None = None,
        options: RenderOptions | None = None,
    ) -> Wired:
        """The context's use cases over this database, wired by bootstrap's own
        `notifications_over` (push is planned when a "push" channel is given)."""
        return notifications_over(
            self.uow,
            clock=clock,
            trail=self.trail,
            renderer=Renderer(catalog, options or RenderOptions(public_url=public_url)),
            channels=channels,
            public_url=public_url,
            clinic_email=clinic_email,
            push_public_key=push_public_key,
            push_allow_loopback=True,
            sending_timeout=sending_timeout,
            reminder_offsets=reminder_offsets,
            sms_webhooks=sms_webhooks,
            email_events=email_events,
            consent=consent,
        )

    def audited(self, action: str | None = None) -> list[tuple[str, str, str, str | None]]:
        """(actor id, action, resource type, patient id) of the entries committed."""
        return [
            (e.actor_id, e.action, e.resource_type, e.patient_id)
            for e, _ in self.ledger.audited
            if action in (None, e.action)
        ]


Wired = Notifications  # the context's use cases, as bootstrap wires them


# --- the edge: what a channel is given -------------------------------------------------------


class RecordingChannel:
    """A channel that takes every message (or fails every one with `failing`)."""

    def __init__(self, name: str, provider: str = "fake") -> None:
        self.name = name
        self.provider = provider
        self.sent: list[Outgoing] = []
        self.failing: DeliveryError | None = None

    async def deliver(self, message: Outgoing) -> SendResult:
        if self.failing is not None:
            raise self.failing
        self.sent.append(message)
        return SendResult(self.provider, f"{self.name}-{len(self.sent)}", "queued")


# --- a clinic on the fakes, and the events it hears ------------------------------------------

# Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6); the visit is Wednesday
# 10:00 (16:00 UTC).
CATALOG = load_catalog(CLINIC_YAML)
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
START = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
SENDER = "no-reply@clinic.example"
TIMEOUT = timedelta(minutes=5)


class Clinic:
    """One in-memory notifications database with recording channels, wired as bootstrap
    wires it; patient p1 has an email address and no SMS consent."""

    def __init__(self, *, sms: bool = True, push: bool = False) -> None:
        self.clock = FixedClock(NOW)
        self.db = FakeNotifications()
        self.email = RecordingChannel("email", provider="smtp")
        self.sms = RecordingChannel("sms", provider="twilio")
        self.push = RecordingChannel("push", provider="webpush")
        channels = {"email": self.email}
        if sms:
            channels["sms"] = self.sms
        if push:
            channels["push"] = self.push
        self.wired: Wired = self.db.wire(self.clock, CATALOG, channels, sending_timeout=TIMEOUT)
        self.db.tables.contacts["p1"] = Reach("pat1@example.com", "+15125550001", {})
        self.heard: Envelope | None = None  # the last event a test kept, to deliver again

    async def handle(self, event: Envelope) -> None:
        await self.wired.subscriber.handle(event)

    def statuses(self) -> dict[str, tuple[str, str | None]]:
        return {m.template: (m.status, m.reason) for m in self.db.tables.messages.values()}


def booking_event(type_: str = "booking.created", **over: Any) -> Envelope:
    payload: dict[str, Any] = {
        "booking_id": "b1",
        "service": "alternative_medicine",
        "visit_type": "initial",
        "practitioner": "doctor1",
        "start": START.isoformat(),
        "end": (START + timedelta(minutes=60)).isoformat(),
        "patient_id": "p1",
        **over,
    }
    return Envelope(str(uuid.uuid4()), type_, 1, NOW, "booking", payload["booking_id"], payload)


def payment_event(type_: str = "payment.succeeded", **over: Any) -> Envelope:
    payload: dict[str, Any] = {
        "order_id": "o1",
        "total_cents": 11900,
        "amount_cents": 11900,
        "refunded_cents": 0,
        "currency": "USD",
        "method": "stripe",
        "provider": "stripe",
        "booking_ids": ["b1"],
        "patient_id": "p1",
        **over,
    }
    return Envelope(str(uuid.uuid4()), type_, 1, NOW, "order", "o1", payload)
