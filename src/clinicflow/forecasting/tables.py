"""The model registry and the cached predictions the staff endpoints answer from. Neither
holds a name or contact: models read the lake's keyed hashes only."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Index, Integer, LargeBinary, String, Table

from clinicflow.infra.columns import instant, uuid_key
from clinicflow.infra.db import metadata

models = Table(
    "forecasting_model",
    metadata,
    uuid_key(),
    Column("kind", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    instant("trained_at"),
    instant("window_start"),
    instant("window_end"),
    Column("features", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("data_hash", String(64), nullable=False),
    Column("artifact_sha256", String(64), nullable=False),
    Column("artifact", LargeBinary, nullable=False),
    Index("ix_forecasting_model_kind_version", "kind", "version", unique=True),
)

predictions = Table(
    "forecasting_prediction",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("subject", String(64), primary_key=True),  # booking id, or patient key
    Column("service", String(64), primary_key=True),
    Column("ref", String(64), nullable=True),  # churn: the patient's latest booking id
    instant("at", nullable=True),
    Column("score", Float, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("model_id", String(36), nullable=False),
    instant("made_at"),
)
