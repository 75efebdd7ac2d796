"""The busy-time store: what each external calendar said about each practitioner's time,
and where each source stands for each practitioner."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from clinicflow.calendars.domain.busy import ShowAs
from clinicflow.infra.columns import check_one_of, instant
from clinicflow.infra.db import metadata

busy_intervals = Table(
    "calendars_busy_interval",
    metadata,
    Column("source", String(32), nullable=False),  # "calendly", "microsoft", "caldav" …
    Column("practitioner", String(64), nullable=False),
    Column("external_id", String(512), nullable=False),  # the source's id (or a digest)
    Column("etag", String(255), nullable=True),  # Graph changeKey, CalDAV etag
    instant("starts_at"),
    instant("ends_at"),
    # The same instants as the availability engine's minutes (start rounded down, end up):
    # what availability reads, integers with no timestamp to parse.
    Column("start_minute", BigInteger, nullable=False),
    Column("end_minute", BigInteger, nullable=False),
    Column("show_as", String(24), nullable=False),
    instant("fetched_at"),
    PrimaryKeyConstraint("source", "practitioner", "external_id"),
    check_one_of("show_as", [s.value for s in ShowAs]),
    # Availability asks: these practitioners' intervals overlapping a window.
    Index("ix_calendars_busy_interval_practitioner", "practitioner", "starts_at", "ends_at"),
    Index("ix_calendars_busy_interval_minutes", "practitioner", "start_minute", "end_minute"),
)

sync_states = Table(
    "calendars_sync_state",
    metadata,
    Column("source", String(32), nullable=False),
    Column("practitioner", String(64), nullable=False),
    Column("cursor", Text, nullable=True),  # Graph delta links run long
    Column("subscription_id", String(255), nullable=True),
    instant("subscription_expires", nullable=True),
    instant("last_full_sync", nullable=True),
    instant("last_success", nullable=True),
    Column("consecutive_errors", Integer, nullable=False),
    instant("backoff_until", nullable=True),
    Column("extra", JSON, nullable=False),
    PrimaryKeyConstraint("source", "practitioner"),
)
