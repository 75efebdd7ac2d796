from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table

from clinicflow.infra.columns import instant
from clinicflow.infra.db import metadata

flags = Table(
    "flags_flag",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("percentage", Integer, nullable=False),  # 0..100: the share of clients it reaches
    Column("description", String(300), nullable=False),
    instant("updated_at"),
    Column("updated_by", String(64), nullable=False),
)
