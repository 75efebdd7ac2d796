"""The notifications context without a database: in-memory repositories behind a fake unit of
work (`FakeNotificationsUnitOfWork`, a `FakeTransaction`), with the same rules as the SQL ones
where the use cases depend on them — a message is unique per (event, channel, template) and a
claim is won once; a reminder is unique per (booking, kind, start); a browser's registration
is unique per endpoint — and the contact book, booking's word on a booking and the audit
trail as plain tables a test fills in. Channels and providers are the fakes at the edge.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from clinicflow.booking import BookingNow
from clinicflow.bootstrap.notifications import Notifications, notifications_over
from clinicflow.catalog.domain import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.infra.bus import Envelope
from clinicflow.notifications.domain.messages import (
    ADVANCES_FROM,
    DeliveryReport,
    Message,
    failure_reason,
)
from clinicflow.notifications.domain.push import (
    Device,
    PushSubscription,
    Registration,
    Saved,
    endpoint_hash,
)
from clinicflow.notifications.domain.render import Renderer, RenderOptions
from clinicflow.notifications.domain.schedule import DueReminder, Reminder
from clinicflow.notifications.domain.visit import Visit
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
from support.fake_tables import OnTables, Repository, TablesTransaction
from support.fake_trail import FakeTrail
from support.fake_uow import FakeFactory, Ledger

# --- the tables ------------------------------------------------------------------------------


@dataclass
class ReminderRow:
    id: str
    booking_id: str
    patient_id: str
    kind: str
    send_at: datetime
    booking_start_at: datetime
    status: str = "scheduled"
    reason: str | None = None


@dataclass
class BrowserRow:
    id: str
    patient_id: str
    subscription: PushSubscription
    user_agent: str | None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class Reach:
    email: str | None
    phone: str | None
    prefs: Mapping[str, object] = field(default_factory=dict)


@dataclass
class NotificationTables:
    """The context's rows, and the other contexts' answers a test sets up."""

    messages: dict[str, Message] = field(default_factory=dict)  # by id, in insertion order
    reminders: dict[str, ReminderRow] = field(default_factory=dict)
    browsers: dict[str, BrowserRow] = field(default_factory=dict)  # by endpoint hash
    contacts: dict[str, Reach] = field(default_factory=dict)  # by patient id
    bookings: dict[str, BookingNow] = field(default_factory=dict)

    def of_event(self, event_id: str) -> list[Message]:
        return sorted(
            (m for m in self.messages.values() if m.event_id == event_id), key=lambda m: m.template
        )

    def message(self, template: str, booking_id: str | None = None) -> Message:
        [found] = [
            m
            for m in self.messages.values()
            if m.template == template and booking_id in (None, m.booking_id)
        ]
        return found


# --- the repositories ------------------------------------------------------------------------


class FakeMessages(OnTables[NotificationTables]):
    async def of_event(self, event_id: str) -> list[Message]:
        return self._t.of_event(event_id)

    async def add(self, new: Sequence[Message]) -> None:
        taken = {(m.event_id, m.channel, m.template) for m in self._t.messages.values()}
        for m in new:
            if (m.event_id, m.channel, m.template) in taken:
                continue  # the unique key: a second worker's insert adds nothing
            self._t.messages[m.id] = replace(m, facts=copy.deepcopy(dict(m.facts)))

    async def claim(self, message_id: str, now: datetime, abandoned_before: datetime) -> bool:
        found = self._t.messages[message_id]
        if not found.sendable(abandoned_before):
            return False
        self._t.messages[message_id] = replace(found, status="sending", updated_at=now)
        return True

    async def mark_sent(
        self, message_id: str, now: datetime, status: str, provider: str, provider_id: str | None
    ) -> None:
        self._finish(message_id, now, status=status, provider=provider, provider_id=provider_id)

    async def mark_failed(self, message_id: str, now: datetime, reason: str) -> None:
        self._finish(message_id, now, status="failed", reason=reason)

    def _finish(
        self,
        message_id: str,
        now: datetime,
        *,
        status: str,
        provider: str | None = None,
        provider_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        found = self._t.messages[message_id]
        if found.status != "sending":
            return
        if status == "failed":
            self._t.messages[message_id] = replace(
                found, status=status, reason=reason, updated_at=now
            )
        else:
            self._t.messages[message_id] = replace(
                found,
                status=status,
                provider=provider,
                provider_id=provider_id,
                reason=None,
                updated_at=now,
            )

    async def abandoned_events(self, abandoned_before: datetime, limit: int) -> list[str]:
        found: list[str] = []
        for m in self._t.messages.values():
            stuck = m.status == "sending" and m.updated_at <= abandoned_before
            unclaimed = (
                m.status == "queued"
                and m.event_id.startswith("reminder:")
                and m.updated_at <= abandoned_before
            )
            if (stuck or unclaimed) and m.event_id not in found:
                found.append(m.event_id)
        return found[:limit]

    async def email_count(self, booking_id: str, other_than: str) -> int:
        return sum(
            1
            for m in self._t.messages.values()
            if m.booking_id == booking_id
            and m.channel == "email"
            and m.status in ("sent", "delivered")
            and m.id != other_than
        )

    async def report(self, report: DeliveryReport, now: datetime) -> int:
        status, ids = report.status, report.provider_ids
        before = ADVANCES_FROM.get(status)
        if not before or not ids:
            return 0
        changed = 0
        for m in list(self._t.messages.values()):
            if m.provider == report.provider and m.provider_id in ids and m.status in before:
                why = failure_reason(report.reason) if status == "failed" else m.reason
                self._t.messages[m.id] = replace(m, status=status, reason=why, updated_at=now)
                changed += 1
        return changed


class FakeMessageLog(OnTables[NotificationTables]):
    async def listed(self, patient_id: str | None, status: str | None, limit: int) -> list[Message]:
        found = [
            m
            for m in self._t.messages.values()
            if patient_id in (None, m.patient_id) and status in (None, m.status)
        ]
        found.sort(key=lambda m: m.id)
        found.sort(key=lambda m: m.created_at, reverse=True)
        return found[:limit]


class FakeReminders(OnTables[NotificationTables]):
    async def schedule(
        self, visit: Visit, patient_id: str, planned: Sequence[Reminder], now: datetime
    ) -> None:
        taken = {(r.booking_id, r.kind, r.booking_start_at) for r in self._t.reminders.values()}
        booking_id, start = visit.booking_id, visit.start
        for p in planned:
            if (booking_id, p.kind, start) not in taken:
                made = ReminderRow(
                    str(uuid.uuid4()), booking_id, patient_id, p.kind, p.send_at, start
                )
                self._t.reminders[made.id] = made

    async def cancel(
        self, booking_id: str, now: datetime, keep_start: datetime | None = None
    ) -> None:
        for r in self._t.reminders.values():
            moved = keep_start is None or r.booking_start_at != keep_start
            if r.booking_id == booking_id and r.status == "scheduled" and moved:
                r.status = "cancelled"

    async def claim_due(self, now: datetime, limit: int) -> list[DueReminder]:
        due = sorted(
            (r for r in self._t.reminders.values() if r.status == "scheduled" and r.send_at <= now),
            key=lambda r: r.send_at,
        )
        return [
            DueReminder(r.id, r.booking_id, r.patient_id, r.kind, r.send_at, r.booking_start_at)
            for r in due[:limit]
        ]

    async def close(self, reminder_id: str, status: str, now: datetime, reason: str | None) -> None:
        row = self._t.reminders[reminder_id]
        row.status, row.reason = status, reason


class FakePushSubscriptions(OnTables[NotificationTables]):
    async def save(self, browser: Registration, now: datetime) -> Saved:
        patient_id, subscription = browser.patient_id, browser.subscription
        digest = endpoint_hash(subscription.endpoint)
        before = self._t.browsers.get(digest)
        if before is None:
            row = BrowserRow(
                str(uuid.uuid4()), patient_id, subscription, browser.user_agent, now, now
            )
        else:
            row = replace(before, patient_id=patient_id, subscription=subscription, updated_at=now)
        self._t.browsers[digest] = row
        previous = before.patient_id if before and before.patient_id != patient_id else None
        return Saved(row.id, row.created_at, row.updated_at, previous)

    async def remove(self, patient_id: str, endpoint: str) -> str | None:
        digest = endpoint_hash(endpoint)
        row = self._t.browsers.get(digest)
        if row is None or row.patient_id != patient_id:
            return None
        del self._t.browsers[digest]
        return row.id

    async def forget_patient(self, patient_id: str) -> int:
        gone = [k for k, r in self._t.browsers.items() if r.patient_id == patient_id]
        for key in gone:
            del self._t.browsers[key]
        return len(gone)

    async def newest(self, patient_id: str) -> datetime | None:
        times = [r.updated_at for r in self._t.browsers.values() if r.patient_id == patient_id]
        return max(times, default=None)

    async def of(self, patient_id: str) -> list[Device]:
        mine = [r for r in self._t.browsers.values() if r.patient_id == patient_id]
        return [Device(r.id, r.subscription) for r in sorted(mine, key=lambda r: r.created_at)]

    async def forget(self, device_ids: Sequence[str]) -> None:
        for key in [k for k, r in self._t.browsers.items() if r.id in device_ids]:
            del self._t.browsers[key]

    async def used(self, device_ids: Sequence[str], now: datetime) -> None:
        for r in self._t.browsers.values():
            if r.id in device_ids:
                r.last_used_at = now


class FakeContacts(OnTables[NotificationTables]):
    async def reach(self, patient_id: str) -> Reach | None:
        return self._t.contacts.get(patient_id)


class FakeBookings(OnTables[NotificationTables]):
    async def now(self, booking_id: str) -> BookingNow | None:
        return self._t.bookings.get(booking_id)


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
