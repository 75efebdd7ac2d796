"""A simulated clinic's lake for the planning models (demand, waitlist conversion, schedule
proposals).

The tests read the one history every ML test shares (`support.ml_history`: 3 practitioners
× 240 days, full demand, 30 waitlist joins a week for counseling), made once and kept.
`simulated_lake` makes a lake of any size into a folder, for `benchmarks/ml_planning.py`:
the demand turned down (`support.simulation.LIGHT`) with the same waitlist joins.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from clinicflow.adapters.lake.iceberg import IcebergLake
from clinicflow.bootstrap import build
from clinicflow.bootstrap.analytics import iceberg_lake
from clinicflow.catalog import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.demo import DemoClock
from clinicflow.settings import Settings
from support.app import CLINIC_YAML
from support.ml_history import ml_history
from support.simulation import ENDS_AT, LIGHT, simulate

DAYS, PRACTITIONERS, SEED = 240, 3, 7
DEMAND = replace(LIGHT, waitlist_joins_week={"counseling": 30.0, "equine_therapy": 2.0})


@dataclass(frozen=True)
class PlanningLake:
    folder: Path  # the simulation's data folder (its lake under lake/)
    catalog: Catalog  # the simulated clinic
    files: tuple[str, ...]  # the lake's Parquet files

    def settings(self) -> Settings:
        return Settings(
            database_url=f"sqlite+aiosqlite:///{self.folder / 'clinic.sqlite3'}",
            keys_file=self.folder / "keys.json",
            config_path=self.folder / "simulated-clinic.yaml",
            data_dir=self.folder,
            password_hashing="insecure-fast",
        )

    def data_files(self) -> list[str]:
        return list(self.files)


async def simulated_lake(
    folder: Path, days: int = DAYS, practitioners: int = PRACTITIONERS, seed: int = SEED
) -> PlanningLake:
    """`days` of the simulated clinic into `folder`, and the lake built from them."""
    await simulate(folder, days=days, practitioners=practitioners, seed=seed, demand=DEMAND)
    lake = PlanningLake(folder, load_catalog(folder / "simulated-clinic.yaml"), ())
    clock = DemoClock()
    clock.set(ENDS_AT)
    container = build(lake.settings(), clock=clock)
    try:
        await container.analytics.writer.sync()
        files: IcebergLake = container.analytics.lake
        return replace(lake, files=tuple(await asyncio.to_thread(files.data_files)))
    finally:
        await container.aclose()


def sharing_clinic() -> Catalog:
    """The whole clinic file's practitioners, the GAPS coaches also counselling and the
    counselor also coaching: services that share people are where planning pays (in the
    simulated clinic each service has its own practitioner, and any rule is optimal)."""
    clinic = load_catalog(CLINIC_YAML)
    people = dict(clinic.practitioners)
    for key in ("gaps_coach", "gaps_coach2"):
        people[key] = replace(people[key], services=(*people[key].services, "counseling"))
    people["counselor1"] = replace(people["counselor1"], services=("counseling", "gaps_coaching"))
    return replace(clinic, practitioners=people)


@pytest.fixture(scope="session")
def planning_lake() -> PlanningLake:
    """The shared ML history's lake (read only: the planning models write nothing)."""
    history = ml_history()
    files = iceberg_lake(history.settings(history.folder)).data_files()
    return PlanningLake(history.folder, load_catalog(history.clinic), tuple(files))
