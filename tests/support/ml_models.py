"""The ML tests' models, trained once a run on the simulated clinic's history
(support/ml_history.py): all five evaluated on later periods, then trained, kept in the
registry and their predictions cached, through `clinicflow ml`'s own wiring
(`bootstrap.forecasting.model_training`). The risk models' tests (test_ml_risk.py) and the
planning models' (test_forecasting_planning.py) judge the same run of it: evaluating and
training all five takes seconds of CPU, and each xdist worker running some of those tests
would otherwise do it again (support/once.py). Each module reads its own copy of the
database the models were kept in.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from clinicflow.bootstrap.forecasting import model_training
from clinicflow.catalog.service import load_catalog
from clinicflow.forecasting.views import ModelEntry
from clinicflow.infra.db import Database
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.migrated import migrated
from support.ml_history import MlHistory
from support.once import once_per_run

Figures = dict[str, dict[str, object]]


@dataclass(frozen=True)
class Trained:
    history: MlHistory
    settings: Settings  # over this copy of the database the models were kept in
    evaluation: Figures  # `evaluate`'s figures, before training
    entries: list[ModelEntry]  # what `train` kept


def trained_models(history: MlHistory, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The models evaluated then trained (once a run), over a fresh copy of their database."""

    def make(folder: Path) -> tuple[Figures, list[ModelEntry]]:
        settings = history.settings(folder)

        async def go() -> tuple[Figures, list[ModelEntry]]:
            await migrated(settings.database_url)
            db = Database(settings.database_url)
            try:
                catalog = load_catalog(settings.config_path)
                training = model_training(settings, db, catalog, FixedClock(history.ends_at))
                return await training.evaluate(), await training.train()
            finally:
                await db.dispose()  # the last connection: SQLite folds its WAL in

        return asyncio.run(go())

    (evaluation, entries), made = once_per_run(tmp_path_factory, "ml-trained", make)
    work = tmp_path_factory.mktemp("ml")
    for name in ("clinic.sqlite3", "keys.json"):
        shutil.copy(made / name, work / name)
    return Trained(history, history.settings(work), evaluation, entries)
