"""The catalog's one table: services launched at run time (the configuration is a file)."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from clinicflow.infra.columns import instant
from clinicflow.infra.db import metadata

launches = Table(
    "catalog_service_launch",
    metadata,
    Column("service", String(64), primary_key=True),
    instant("launched_at"),
    Column("launched_by", String(64), nullable=False),  # the actor id, for the record
)
