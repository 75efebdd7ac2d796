"""Paths, the availability query and the targets shared by the load benchmark's modules, and
the settings of an app over a migrated SQLite file for the benchmarks that serve one."""

from __future__ import annotations

from pathlib import Path

from clinicflow.infra.migrate import upgrade
from clinicflow.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "http_load.lua"
MARKER = "HTTP_LOAD_JSON "
DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Statuses whose rows occupy a practitioner's time (clinicflow.booking.tables.OCCUPYING).
OCCUPYING = ("held", "confirmed", "checked_in", "completed", "no_show")
# The availability query every availability scenario asks: a booking page's question.
AVAILABILITY_QUERY = "service=alternative_medicine&visit_type=initial&duration=15"

# Targets (issue 7, item 9).
CACHED_SHARE_OF_BARE = 0.25
BOOKINGS_PER_SECOND = 400.0
UNCACHED_P50_MS = 100.0


async def migrated_sqlite(folder: str) -> Settings:
    """Settings over a migrated SQLite file in `folder` (its data and key ring there too), the
    clinic file of config/, and no rate limits (a benchmark asks from one address)."""
    url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await upgrade(url)
    return Settings(
        database_url=url,
        config_path=ROOT / "config" / "clinic.yaml",
        data_dir=Path(folder),
        keys_file=Path(folder) / "keys.json",
        rate_limits_enabled=False,
    )
