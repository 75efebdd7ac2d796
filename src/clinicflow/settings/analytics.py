"""The analytics context's settings: the lake and the metrics (docs/analytics.md)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class AnalyticsSettings(BaseSettings):
    """CLINICFLOW_LAKE_*, CLINICFLOW_ANALYTICS_*."""

    # The analytics lake (docs/analytics.md "The lake"): the Iceberg SQL catalog (SQLAlchemy
    # URL; default an SQLite file data_dir/lake/catalog.sqlite3; in production the clinic's
    # PostgreSQL, e.g. postgresql+psycopg2://…), where its Parquet files go (a folder, default
    # data_dir/lake/warehouse, or s3://bucket/prefix with AWS_* credentials and, for an
    # S3-compatible store, its endpoint), how often the worker moves new events into it, and
    # how many events one commit takes.
    lake_catalog_url: str | None = None
    lake_warehouse: str | None = None
    lake_s3_endpoint: str | None = None
    lake_sync_seconds: float = Field(default=60.0, gt=0)
    lake_batch_size: int = Field(default=500, gt=0)
    # The metrics (docs/analytics.md "Metrics"): a patient seen is churned after this many
    # days with no visit and nothing booked, per service (JSON, e.g. {"weight_loss": 30});
    # the default for the rest. A ZIP3 row counting fewer patients than `analytics_min_cell`
    # has its figures withheld. Availability views are stored every so many seconds.
    analytics_churn_days: dict[str, int] = Field(default_factory=dict)
    analytics_churn_default_days: int = Field(default=90, gt=0)
    analytics_min_cell: int = Field(default=5, ge=1)
    analytics_views_flush_seconds: float = Field(default=60.0, gt=0)
