"""Notification tables. Rows hold no PHI: no addresses and no message text. A message keeps
the booking facts its text was rendered from (`facts`: ids and times, as the event carried
them), and the text is rendered again when it is read."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table, Text, UniqueConstraint

from clinicflow.infra.columns import instant, timestamps, uuid_key, uuid_ref
from clinicflow.infra.db import metadata

# Statuses: domain/messages.py MESSAGE_STATUSES ("sending": claimed for its provider call)
# and domain/schedule.py REMINDER_STATUSES.

messages = Table(
    "notifications_message",
    metadata,
    uuid_key(),
    # The event's id; for a reminder, "reminder:<reminder id>".
    Column("event_id", String(64), nullable=False),
    uuid_ref("patient_id"),
    uuid_ref("booking_id", nullable=True),
    Column("channel", String(16), nullable=False),  # email|sms|push|local
    Column("template", String(64), nullable=False),  # "<kind>.<channel>"
    Column("status", String(16), nullable=False),
    Column("provider", String(32), nullable=True),
    Column("provider_id", String(128), nullable=True),
    Column("reason", String(200), nullable=True),  # why skipped or failed; never PHI
    Column("facts", JSON, nullable=False),
    *timestamps(),
    UniqueConstraint("event_id", "channel", "template", name="uq_notifications_message_event"),
    Index("ix_notifications_message_patient_created", "patient_id", "created_at"),
    Index("ix_notifications_message_booking_id", "booking_id"),
    # Delivery reports (Twilio status callbacks, SendGrid events) find a message by these.
    Index("ix_notifications_message_provider", "provider", "provider_id"),
    # The recovery job finds messages left "sending" by a worker that died (messages/jobs.py).
    Index("ix_notifications_message_status_updated", "status", "updated_at"),
)

reminders = Table(
    "notifications_reminder",
    metadata,
    uuid_key(),
    uuid_ref("booking_id"),
    uuid_ref("patient_id"),
    instant("send_at"),
    Column("kind", String(16), nullable=False),  # "24h", "2h" …
    Column("status", String(16), nullable=False),
    instant("booking_start_at"),  # the start it was scheduled for
    Column("reason", String(200), nullable=True),
    *timestamps(),
    UniqueConstraint(
        "booking_id", "kind", "booking_start_at", name="uq_notifications_reminder_slot"
    ),
    Index("ix_notifications_reminder_due", "status", "send_at"),
    Index("ix_notifications_reminder_booking_id", "booking_id"),
)

# A patient's browsers that accepted Web Push. The endpoint and keys identify a device, so
# they are sealed (domain/push.py); the endpoint's SHA-256 finds a browser registering again.
push_subscriptions = Table(
    "notifications_push_subscription",
    metadata,
    uuid_key(),
    uuid_ref("patient_id"),
    Column("endpoint_hash", String(64), nullable=False),
    Column("endpoint_enc", Text, nullable=False),
    Column("p256dh_enc", Text, nullable=False),
    Column("auth_enc", Text, nullable=False),
    Column("user_agent", String(120), nullable=True),
    instant("created_at"),
    # The latest registration of this browser: the time the patient (again) consented.
    instant("updated_at"),
    instant("last_used_at", nullable=True),
    UniqueConstraint("endpoint_hash", name="uq_notifications_push_subscription_endpoint"),
    Index("ix_notifications_push_subscription_patient_id", "patient_id"),
)
