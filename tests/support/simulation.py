"""A simulated clinic for the simulation tests: days of history made into a fresh SQLite
file under tmp_path, with the demand turned down so a month runs in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import build
from clinicflow.catalog import Catalog
from clinicflow.demo import DemoClock
from clinicflow.infra.migrate import upgrade
from clinicflow.simulation import ClinicYear, Demand, Tally, YearPlan, simulated_clinic
from support.app import CLINIC_YAML, clinic_settings

# The clock the simulated days end at: a Saturday evening in the clinic (UTC here).
ENDS_AT = datetime(2026, 11, 7, 23, 0, tzinfo=UTC)
LIGHT = Demand(scale=0.25, established_per_practitioner=8)


@dataclass(frozen=True)
class Booking:
    practitioner: str
    status: str
    start: datetime
    end: datetime
    block_start: datetime
    block_end: datetime


@dataclass(frozen=True)
class Simulated:
    tally: Tally
    catalog: Catalog
    bookings: list[Booking]


async def simulate(
    tmp_path: Path, *, days: int, practitioners: int, seed: int, demand: Demand = LIGHT
) -> Simulated:
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    made = simulated_clinic(CLINIC_YAML, practitioners, tmp_path / "simulated-clinic.yaml")
    settings = clinic_settings(
        url, tmp_path, config_path=made.path, password_hashing="insecure-fast"
    )
    await upgrade(url)
    clock = DemoClock()
    clock.set(ENDS_AT)
    container = build(settings, clock=clock)
    try:
        tally = await ClinicYear(container, clock, YearPlan(days, seed, made, demand)).run()
        async with container.db.read() as conn:
            rows = (await conn.execute(select(appointments))).all()
        return Simulated(
            tally,
            container.catalog,
            [
                Booking(r.practitioner, r.status, r.start_at, r.end_at, r.block_start, r.block_end)
                for r in rows
            ],
        )
    finally:
        await container.aclose()
