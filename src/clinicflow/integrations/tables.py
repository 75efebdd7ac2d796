"""The EHR sync's own records: which EHR patient is ours (and the digest of what was agreed
at the last sync, never the values), the conflicts listed for staff (field names, never
values), and the ids of the EHR's webhooks already taken (a retried webhook does nothing)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table

from clinicflow.infra.columns import instant, uuid_key, uuid_ref
from clinicflow.infra.db import metadata

ehr_links = Table(
    "integrations_ehr_link",
    metadata,
    uuid_key("patient_id"),
    Column("remote_id", String(64), nullable=False),
    Column("synced_digest", String(64), nullable=False),  # keyed HMAC-SHA256, hex
    instant("synced_at"),
    Index("ux_integrations_ehr_link_remote", "remote_id", unique=True),
)

ehr_conflicts = Table(
    "integrations_ehr_conflict",
    metadata,
    uuid_key(),
    uuid_ref("patient_id"),
    Column("remote_id", String(64), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("fields", JSON, nullable=False),  # the names of the fields that differ
    Column("remote_version", String(64), nullable=True),
    Column("detail", String(200), nullable=True),
    instant("detected_at"),
    instant("resolved_at", nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Index("ix_integrations_ehr_conflict_open", "resolved_at", "detected_at"),
    Index("ix_integrations_ehr_conflict_patient", "patient_id"),
)

ehr_notices = Table(
    "integrations_ehr_notice",
    metadata,
    Column("notice_id", String(100), primary_key=True),
    instant("received_at"),
)
