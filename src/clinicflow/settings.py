"""Settings from the environment (prefix CLINICFLOW_), built once and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def resolved_keys_file(self) -> Path:
        return self.keys_file or self.data_dir / "keys.json"
