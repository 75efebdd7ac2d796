"""The practitioners' feed tokens: one per practitioner, stored only as its SHA-256, so the
table gives away no address. Issuing a new one replaces the row (the old address stops
working); revoking deletes it."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from clinicflow.infra.columns import instant
from clinicflow.infra.db import metadata

feed_tokens = Table(
    "calendars_feed_token",
    metadata,
    Column("practitioner", String(64), primary_key=True),
    Column("token_digest", String(64), nullable=False),  # SHA-256 of the token, hex
    instant("created_at"),
)
