from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table

from clinicflow.infra.db import UTCDateTime, metadata

flags = Table(
    "flags_flag",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("percentage", Integer, nullable=False),  # 0..100: the share of clients it reaches
    Column("description", String(300), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
)
