"""Webhook tables. Subscription secrets are sealed with the key ring (domain/secrets.py;
listed in clinicflow.sealed for rotation). A delivery keeps the exact body it sends, so every
retry sends the same bytes; event payloads carry ids and times, never PHI. Attempts keep the
outcome only (status code, error, duration), never a response body."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from clinicflow.infra.columns import instant, timestamps, uuid_key, uuid_ref
from clinicflow.infra.db import metadata

subscriptions = Table(
    "webhooks_subscription",
    metadata,
    uuid_key(),
    Column("url", String(2048), nullable=False),
    Column("event_types", JSON, nullable=False),  # sorted type names, or ["*"]
    Column("description", String(200), nullable=True),
    Column("secret_enc", Text, nullable=False),
    # The secret before the last rotation, still signed with until it expires.
    Column("previous_secret_enc", Text, nullable=True),
    instant("previous_secret_expires_at", nullable=True),
    Column("active", Boolean, nullable=False),
    *timestamps(),
    Column("created_by", String(64), nullable=False),
)

deliveries = Table(
    "webhooks_delivery",
    metadata,
    uuid_key(),
    uuid_ref("subscription_id", "webhooks_subscription.id", ondelete="CASCADE"),
    uuid_ref("event_id"),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),  # the JSON sent, byte for byte on every attempt
    Column("status", String(16), nullable=False),  # domain/deliveries.py DELIVERY_STATUSES
    Column("attempts", Integer, nullable=False),
    # Pending: when the next attempt is due (pushed ahead while an attempt is under way).
    instant("next_attempt_at", nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    *timestamps(),
    UniqueConstraint("subscription_id", "event_id", name="uq_webhooks_delivery_event"),
    Index("ix_webhooks_delivery_due", "status", "next_attempt_at"),
    Index("ix_webhooks_delivery_event_id", "event_id"),
    Index("ix_webhooks_delivery_created", "created_at"),
)

attempts = Table(
    "webhooks_attempt",
    metadata,
    uuid_key(),
    uuid_ref("delivery_id", "webhooks_delivery.id", ondelete="CASCADE"),
    Column("number", Integer, nullable=False),  # 1 for the first attempt
    instant("at"),
    Column("status_code", Integer, nullable=True),  # None: no HTTP response (timeout, refused)
    Column("error", String(200), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_webhooks_attempt_delivery", "delivery_id", "number"),
)
