"""The raw event record: one row per event, as published (ids and facts, no PHI)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table

from clinicflow.infra.db import UTCDateTime, metadata

events = Table(
    "analytics_event",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_analytics_event_type_occurred", "type", "occurred_at"),
)
