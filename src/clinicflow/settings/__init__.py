"""Settings from the environment (prefix CLINICFLOW_), built once and passed down.

`Settings` is one object, as every process reads it; its fields are declared beside their
context's in this package's modules (`calendars.py`, `payments.py`, …) and the platform's
own (the database, the cache, tracing) here. A field's environment name is CLINICFLOW_ and
its name, whichever module declares it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from clinicflow.settings._variables import RememberedEnvironment
from clinicflow.settings.analytics import AnalyticsSettings
from clinicflow.settings.calendars import CalendarSettings, CalendlySettings
from clinicflow.settings.edge import EdgeSettings
from clinicflow.settings.events import EventSettings
from clinicflow.settings.forecasting import ForecastingSettings
from clinicflow.settings.identity import IdentitySettings
from clinicflow.settings.integrations import IntegrationSettings
from clinicflow.settings.notifications import NotificationSettings
from clinicflow.settings.payments import PaymentSettings
from clinicflow.settings.waitlist import WaitlistSettings
from clinicflow.settings.webhooks import WebhookSettings

DEFAULT_DATA_DIR = Path("var")
SERVICES = (
    "booking",
    "patients",
    "identity",
    "notifications",
    "waitlist",
    "payments",
    "web",
    "fhir",
)


# Pydantic takes fields and validators from the last base first: listed backwards, the
# checks that settings given together are complete run in the order they always did (the
# first to fail is the one reported). Each validator needs a name of its own: one named like
# another base's hides it.
class Settings(
    WaitlistSettings,
    EventSettings,
    EdgeSettings,
    WebhookSettings,
    CalendlySettings,
    IntegrationSettings,
    CalendarSettings,
    PaymentSettings,
    NotificationSettings,
    IdentitySettings,
    ForecastingSettings,
    AnalyticsSettings,
):
    model_config = SettingsConfigDict(env_prefix="CLINICFLOW_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """What is given, then CLINICFLOW_* variables, then secret files: no .env source.
        There is no env_file, so it found nothing, but it still read every field's type
        again on each Settings() (~7 ms of CPU: a test builds one for each of its apps).
        The variables are read once for each environment (`RememberedEnvironment`)."""
        assert isinstance(env_settings, EnvSettingsSource)
        return init_settings, RememberedEnvironment(env_settings), file_secret_settings

    # The embedded default: one SQLite file, no other server.
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'clinicflow.sqlite3'}"
    config_path: Path = Path("config/clinic.yaml")
    data_dir: Path = DEFAULT_DATA_DIR
    # PHI key ring (default data_dir/keys.json); made only on first set-up (an empty
    # database) or by `clinicflow keys init`, never over stored data.
    keys_file: Path | None = None
    # Where checkpoints of the audit chain's head go, outside the database (default
    # data_dir/audit-checkpoints.jsonl), and how often the head is written there.
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_seconds: int = 60
    sql_echo: bool = False
    # How many times a booking is retried when a concurrent writer won the race.
    booking_retries: int = 3
    # Longest a request may take before it is cancelled and answered 503 (0: no deadline).
    request_deadline_seconds: float = Field(default=10, ge=0)

    # Where the clinic's pages and API are reached; sign-in links and the token issuer use it.
    public_url: str = "http://127.0.0.1:8000"
    # `clinicflow demo` signs a front-desk account in with this (random when unset).
    demo_password: SecretStr | None = None

    # Which contexts' routes this process serves ("booking,patients"); all when empty.
    services: str = ""

    # Availability answers are cached and dropped when a booking commits: in memory (one
    # process), or in Redis when several processes or replicas serve.
    availability_cache: bool = True
    availability_cache_seconds: float = Field(default=60.0, gt=0)
    cache_storage: Literal["memory", "redis"] = "memory"
    cache_prefix: str = "clinicflow:cache"  # one per deployment sharing a Redis

    # OpenTelemetry traces (infra/telemetry.py, docs/observability.md). auto: export by OTLP
    # when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER) is set, as
    # deploy/ sets it, else export nothing; off / otlp / console force it. Trace ids reach
    # log lines and the outbox in every mode. The ratio samples the traces this process starts.
    tracing: Literal["auto", "off", "otlp", "console"] = "auto"
    tracing_sample_ratio: float = Field(default=1.0, ge=0, le=1)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept the usual URL spellings and pick the async driver this code runs on."""
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgresql+psycopg://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = sorted(set(names) - set(SERVICES))
        if unknown:
            raise ValueError(f"unknown service(s) {', '.join(unknown)}; use {', '.join(SERVICES)}")
        return ",".join(names)

    @property
    def enabled_services(self) -> tuple[str, ...]:
        return tuple(self.services.split(",")) if self.services else SERVICES

    @property
    def token_issuer(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def resolved_keys_file(self) -> Path:
        return self.keys_file or self.data_dir / "keys.json"

    @property
    def resolved_lake_catalog_url(self) -> str:
        return self.lake_catalog_url or f"sqlite:///{self.data_dir / 'lake' / 'catalog.sqlite3'}"

    @property
    def resolved_lake_warehouse(self) -> str:
        return self.lake_warehouse or str(self.data_dir / "lake" / "warehouse")

    @property
    def resolved_audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"
