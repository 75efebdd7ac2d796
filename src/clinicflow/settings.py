"""Settings from the environment (prefix CLINICFLOW_), built once and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLINICFLOW_", extra="ignore")

    # The embedded default: one SQLite file, no other server.
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'clinicflow.sqlite3'}"
    config_path: Path = Path("config/clinic.yaml")
    data_dir: Path = DEFAULT_DATA_DIR
    # PHI key ring; the embedded default creates data_dir/keys.json on first run.
    keys_file: Path | None = None
    sql_echo: bool = False
    # How many times a booking is retried when a concurrent writer won the race.
    booking_retries: int = 3

    # Where the clinic's pages and API are reached; sign-in links and the token issuer use it.
    public_url: str = "http://127.0.0.1:8000"
    # Staff and patient sessions: idle timeout and absolute lifetime.
    session_idle_minutes: int = Field(default=15, gt=0)
    session_max_hours: int = Field(default=12, gt=0)
    patient_link_minutes: int = Field(default=15, gt=0)
    # OAuth 2.0 client-credentials tokens issued here (JWT, ES256).
    token_audience: str = "clinicflow-api"  # noqa: S105 (an audience name, not a secret)
    access_token_minutes: int = Field(default=15, gt=0)
    # An external OpenID Connect provider whose tokens staff may use (all three, or none).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "clinicflow_role"
    oidc_practitioner_claim: str = "clinicflow_practitioner"
    # Email: SMTP when a host is set; otherwise messages are written to data_dir/mailbox.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_sender: str = "clinic@localhost"
    # `clinicflow demo` signs a front-desk account in with this (random when unset).
    demo_password: SecretStr | None = None

    # Events (infra/relay.py, infra/events/): in-process dispatch after commit (the embedded
    # default), or Redis Streams with one consumer group per subscriber (scale-out).
    event_transport: Literal["inprocess", "redis"] = "inprocess"
    redis_url: str = "redis://127.0.0.1:6379/0"
    event_stream: str = "clinicflow:events"
    event_stream_maxlen: int = Field(default=100_000, gt=0)  # approximate (MAXLEN ~)
    event_batch_size: int = Field(default=100, gt=0)
    # Failed deliveries: exponential backoff with full jitter, then dead-lettered.
    event_max_attempts: int = Field(default=5, gt=0)
    event_retry_base_seconds: float = Field(default=2.0, gt=0)
    event_retry_cap_seconds: float = Field(default=600.0, gt=0)
    # How long a Redis entry stays with a silent consumer before another worker claims it.
    event_claim_idle_seconds: float = Field(default=60.0, ge=0)
    # How often the relay and the consumers look again when there was nothing to do.
    event_poll_seconds: float = Field(default=1.0, gt=0)
    # More subscribers to load, "module:factory" comma separated; factory(SubscriberDeps).
    extra_subscribers: str = ""

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

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        given = [self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url]
        if any(given) and not all(given):
            raise ValueError(
                "set CLINICFLOW_OIDC_ISSUER, CLINICFLOW_OIDC_AUDIENCE and "
                "CLINICFLOW_OIDC_JWKS_URL together, or none of them"
            )
        return self

    @property
    def token_issuer(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def resolved_keys_file(self) -> Path:
        return self.keys_file or self.data_dir / "keys.json"
