"""The transactional outbox: every state change writes its event in the same transaction."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Table

from clinicflow.infra.columns import instant, uuid_ref
from clinicflow.infra.db import metadata

outbox = Table(
    "infra_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # publication order
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    instant("occurred_at"),
    Column("aggregate_type", String(32), nullable=False),
    uuid_ref("aggregate_id"),
    Column("payload", JSON, nullable=False),
    Column("traceparent", String(64), nullable=True),
    instant("published_at", nullable=True),
    Index("ix_infra_outbox_unpublished", "published_at", "id"),
)


@dataclass(frozen=True, slots=True)
class Event:
    """An integration event: ids and facts, never PHI."""

    type: str
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, Any]
    version: int = 1
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def outbox_row(event: Event, traceparent: str | None) -> dict[str, object]:
    """The outbox row of `event` (its payload round-tripped through JSON, so only
    JSON-native values are stored)."""
    return {
        "event_id": event.event_id,
        "type": event.type,
        "version": event.version,
        "occurred_at": event.occurred_at,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "payload": json.loads(json.dumps(event.payload, default=str)),
        "traceparent": traceparent,
    }
