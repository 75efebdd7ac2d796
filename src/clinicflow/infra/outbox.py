"""The transactional outbox: every state change writes its event in the same transaction."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import COMMITTED_EVENTS, UTCDateTime, buffer, metadata
from clinicflow.infra.telemetry import current_traceparent

outbox = Table(
    "infra_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # publication order
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(36), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("traceparent", String(64), nullable=True),
    Column("published_at", UTCDateTime, nullable=True),
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


async def record(conn: AsyncConnection, *events: Event) -> None:
    """Into the outbox, in the caller's write transaction (inserted as it commits: `buffer`)."""
    if not events:
        return
    conn.info.setdefault(COMMITTED_EVENTS, []).extend(events)  # for Database.on_commit
    # The trace of the request (or job) that made the change: its handlers continue it.
    traceparent = current_traceparent()
    for e in events:
        row = {
            "event_id": e.event_id,
            "type": e.type,
            "version": e.version,
            "occurred_at": e.occurred_at,
            "aggregate_type": e.aggregate_type,
            "aggregate_id": e.aggregate_id,
            # Round-trip through json so only JSON-native values are stored.
            "payload": json.loads(json.dumps(e.payload, default=str)),
            "traceparent": traceparent,
        }
        buffer(conn, outbox, row)
