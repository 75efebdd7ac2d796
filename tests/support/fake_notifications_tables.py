"""The notifications context's tables in memory and its repositories, for
support/fake_notifications.py: messages (unique per event, channel and template; a claim
won once), reminders (unique per booking, kind and start), browsers' registrations (unique
per endpoint), and the contact book and booking's word on a booking as plain tables a test
fills in."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from clinicflow.booking import BookingNow
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
from clinicflow.notifications.domain.schedule import DueReminder, Reminder
from clinicflow.notifications.domain.visit import Visit
from support.fake_tables import OnTables

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
