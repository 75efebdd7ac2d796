"""Calendly's invitee deliveries, one row per (invitee URI, event): a repeat finds its row.
No PHI: the patient's details go to the patients context; this keeps Calendly's URIs."""

from __future__ import annotations

from sqlalchemy import Column, Index, PrimaryKeyConstraint, String, Table

from clinicflow.infra.columns import instant, uuid_ref
from clinicflow.infra.db import metadata

calendly_invitees = Table(
    "calendars_calendly_invitee",
    metadata,
    Column("invitee", String(300), nullable=False),
    Column("event", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),
    instant("received_at"),
    uuid_ref("booking_id", nullable=True),
    Column("practitioner", String(64), nullable=True),
    Column("service", String(64), nullable=True),
    Column("visit_type", String(64), nullable=True),
    instant("start_at", nullable=True),
    instant("end_at", nullable=True),
    Column("scheduled_event", String(300), nullable=True),
    Column("reason", String(300), nullable=True),
    PrimaryKeyConstraint("invitee", "event"),
    Index("ix_calendars_calendly_invitee_outcome", "outcome", "start_at"),
    # The busy store leaves out a page booking's own Calendly event (calendars/repository.py).
    Index("ix_calendars_calendly_invitee_scheduled_event", "scheduled_event"),
    # A booking cancelled or moved here finds the page booking it was imported from.
    Index("ix_calendars_calendly_invitee_booking", "booking_id"),
)
