"""The raw event record: one row per event, as published (ids and facts, no PHI), and its
place in the order the lake takes events in (`seq`, given by the lake writer)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, String, Table

from clinicflow.infra.columns import instant, uuid_key
from clinicflow.infra.db import metadata

events = Table(
    "analytics_event",
    metadata,
    uuid_key("event_id"),
    Column("type", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    instant("occurred_at"),
    Column("payload", JSON, nullable=False),
    instant("recorded_at"),
    # Null until the lake writer places the event (analytics/repository.py `sequence`):
    # places are given in commit order, which an id drawn at insert time is not.
    Column("seq", BigInteger, nullable=True),
    Index("ix_analytics_event_type_occurred", "type", "occurred_at"),
    Index("ix_analytics_event_seq", "seq", unique=True),
)

# Anonymous availability reads per local day and service (the funnel's first step): a count,
# nothing about who asked (no IP, cookie or session). Added to by `AvailabilityViews.flush`.
availability_views = Table(
    "analytics_availability_view",
    metadata,
    Column("day", Date, primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("views", BigInteger, nullable=False),
)
