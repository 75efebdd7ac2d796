"""A simulated clinic's history in the analytics lake, for the ML tests: `clinicflow simulate`'s
days made through the use cases into an SQLite file (its bus's analytics recorder keeping
every event), and the lake written by the real `LakeWriter`.

Making it takes minutes (every visit is several transactions), so it is made once and kept
under the system's temp folder, named by a digest of the simulator's and the lake writer's
source, of this module and of the plan: a change to any makes a new one. Each session copies
the clinic's database (the models' registry is written there); the lake is only read.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

import clinicflow
from clinicflow.bootstrap import build
from clinicflow.bootstrap.analytics import lake_writer
from clinicflow.demo import DemoClock
from clinicflow.infra.migrate import upgrade
from clinicflow.settings import Settings
from clinicflow.simulation import ClinicYear, Demand, YearPlan, simulated_clinic
from support.app import CLINIC_YAML

# 3 practitioners (alternative medicine, GAPS, and a doctor) × 240 days ending on a Saturday;
# the full demand of docs/simulation.md (a clinic about 60% booked once full), with 30
# waitlist joins a week for counseling (the default's 4 would give a few dozen invitations)
# so its launch's waves invite enough people for the waitlist-conversion model. One history
# for every ML test (the risk models' and the planning models'): made once, kept.
DAYS, PRACTITIONERS, SEED = 240, 3, 19
DEMAND = Demand(waitlist_joins_week={"counseling": 30.0, "equine_therapy": 2.0})
ENDS_AT = datetime(2026, 11, 7, 23, 0, tzinfo=UTC)
SOURCES = ("simulation", "analytics", "adapters/lake")


@dataclass(frozen=True)
class MlHistory:
    folder: Path  # the made history (read only)
    clinic: Path  # the simulated clinic file
    ends_at: datetime

    def settings(self, work: Path, **extra: object) -> Settings:
        """Settings over a fresh copy of the history's database, the lake read in place."""
        db = work / "clinic.sqlite3"
        if not db.exists():
            shutil.copy(self.folder / "clinic.sqlite3", db)
            shutil.copy(self.folder / "keys.json", work / "keys.json")
        return Settings(
            database_url=f"sqlite+aiosqlite:///{db}",
            keys_file=work / "keys.json",
            config_path=self.clinic,
            data_dir=work,
            password_hashing="insecure-fast",
            lake_catalog_url=f"sqlite:///{self.folder / 'lake' / 'catalog.sqlite3'}",
            lake_warehouse=str(self.folder / "lake" / "warehouse"),
            **extra,
        )


def _digest(days: int, practitioners: int, seed: int) -> str:
    h = hashlib.sha256(f"{days}/{practitioners}/{seed}/{ENDS_AT.isoformat()}".encode())
    root = Path(clinicflow.__file__).parent
    for name in SOURCES:
        for path in sorted((root / name).rglob("*.py")):
            h.update(path.read_bytes())
    h.update(CLINIC_YAML.read_bytes())
    h.update(Path(__file__).read_bytes())  # how it is made
    return h.hexdigest()[:16]


async def _make(folder: Path, days: int, practitioners: int, seed: int) -> None:
    url = f"sqlite+aiosqlite:///{folder / 'clinic.sqlite3'}"
    made = simulated_clinic(CLINIC_YAML, practitioners, folder / "simulated-clinic.yaml")
    settings = Settings(
        database_url=url,
        keys_file=folder / "keys.json",
        config_path=made.path,
        data_dir=folder,
        password_hashing="insecure-fast",
    )
    await upgrade(url)
    clock = DemoClock()
    clock.set(ENDS_AT)
    container = build(settings, clock=clock)
    try:
        await ClinicYear(container, clock, YearPlan(days, seed, made, DEMAND)).run()
        await lake_writer(settings, container.db, container.keys).sync()
    finally:
        await container.aclose()


def _place(days: int, practitioners: int, seed: int) -> tuple[Path, Path]:
    """The history's folder and its lock: one per digest, so a run wanting another history
    (another branch's sources) does not wait for this one to be made."""
    cache = Path(tempfile.gettempdir()) / "clinicflow-ml-history"
    cache.mkdir(exist_ok=True)
    digest = _digest(days, practitioners, seed)
    return cache / digest, cache / f"{digest}.lock"


def ml_history(days: int = DAYS, practitioners: int = PRACTITIONERS, seed: int = SEED) -> MlHistory:
    """The history for this plan, made now if no earlier run made it."""
    folder, lock_file = _place(days, practitioners, seed)
    # One maker per history; the others wait for it.
    with lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            asyncio.run(_make(folder, days, practitioners, seed))
            (folder / "done").write_text("made\n")
    return MlHistory(folder, folder / "simulated-clinic.yaml", ENDS_AT)


def make_in_background() -> subprocess.Popen[bytes] | None:
    """Start making the history in a process of its own, unless it is made or being made.

    On a machine that has not made it yet (a fresh clone, or a change to what it is made
    from), making it takes minutes of one core. The suite starts it as it begins and runs the
    tests that read it last (support/scheduling.py), so the workers run everything else
    meanwhile instead of waiting on its lock together. Two workers starting it at once
    start two makers: the second waits on the lock and finds it made. What the maker says
    goes to `<digest>.log` beside the history."""
    folder, lock_file = _place(DAYS, PRACTITIONERS, SEED)
    if (folder / "done").exists():
        return None
    with lock_file.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # being made
    tests = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))
    with lock_file.with_suffix(".log").open("wb") as out:
        maker = subprocess.Popen(
            [sys.executable, "-c", "from support.ml_history import ml_history; ml_history()"],
            env={**os.environ, "PYTHONPATH": path},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of the run leaves it to finish the cache
        )
    _MAKERS.append(maker)  # kept: a Popen collected while its process runs warns
    return maker


_MAKERS: list[subprocess.Popen[bytes]] = []


@pytest.fixture(scope="session")
def simulated_lake() -> Iterator[MlHistory]:
    return ml_history()
