"""`clinicflow ml` as typed, over the simulated clinic's lake (tests/support/ml_history.py):
`evaluate --json` prints the five models' held-out figures under the issue's keys, each with
its window, the same figures `ModelTraining.evaluate` gave; `train` keeps every model in the
registry as its kind's next version (here over a copy of the database the run's models were
kept in, support/ml_models.py, so one `train` shows both keeping and versioning) and
`predict` caches their predictions again (all, or one entry's); on an empty lake each says
why it cannot, in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicflow.cli import app
from support.cli_runner import migrated_cli, ok
from support.ml_history import MlHistory
from support.ml_models import Trained, trained_models

pytestmark = pytest.mark.slow


@pytest.fixture
def trained(simulated_lake: MlHistory, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The run's models (trained once, support/ml_models.py), over this test's copy of the
    database they were kept in."""
    return trained_models(simulated_lake, tmp_path_factory)


def _env(trained: Trained) -> dict[str, str]:
    s = trained.settings
    return {
        "CLINICFLOW_DATABASE_URL": s.database_url,
        "CLINICFLOW_KEYS_FILE": str(s.keys_file),
        "CLINICFLOW_CONFIG_PATH": str(s.config_path),
        "CLINICFLOW_DATA_DIR": str(s.data_dir),
        "CLINICFLOW_LAKE_CATALOG_URL": str(s.lake_catalog_url),
        "CLINICFLOW_LAKE_WAREHOUSE": str(s.lake_warehouse),
    }


def test_evaluate_train_and_predict(trained: Trained) -> None:
    runner, env = CliRunner(), _env(trained)
    done = runner.invoke(app, ["ml", "evaluate", "--json"], env=env)
    assert done.exit_code == 0, done.output
    figures = json.loads(done.stdout)
    assert list(figures) == ["demand", "no_show", "churn", "waitlist", "schedule"]
    issue = {
        "demand": {"mase"},
        "no_show": {"auc", "baseline_auc", "ece"},
        "churn": {"c_index", "auc_60d"},
        "waitlist": {"auc", "baseline_auc"},
        "schedule": {"uplift", "seconds"},
    }
    for kind, keys in issue.items():
        assert keys | {"window"} <= set(figures[kind]), (kind, figures[kind])
        assert all(isinstance(figures[kind][k], float) for k in keys), (kind, figures[kind])
        assert figures[kind]["window"]["start"] <= figures[kind]["window"]["end"]
    assert figures["no_show"]["window"]["start"] > figures["no_show"]["train_window"]["start"]
    assert figures["demand"]["windows"] == 8
    assert figures["demand"]["window"]["start"] > figures["demand"]["train_window"]["end"]
    assert figures["schedule"]["seconds"] < 10
    # the figures `ModelTraining.evaluate` gave the run's models: the same lake, the same
    # figures (the solver's seconds are timed anew)
    untimed = [
        {kind: {k: v for k, v in got[kind].items() if (kind, k) != ("schedule", "seconds")}
         for kind in got}
        for got in (figures, json.loads(json.dumps(trained.evaluation)))
    ]  # fmt: skip
    assert untimed[0] == untimed[1]
    assert {e.version for e in trained.entries} == {1}
    again = ok(runner.invoke(app, ["ml", "train"], env=env))
    for kind in issue:  # each kept as its kind's next version
        assert f"{kind} v2 (" in again, again
    predicted = ok(runner.invoke(app, ["ml", "predict"], env=env))
    for kind in issue:
        assert f"{kind}: " in predicted, predicted
    assert "predictions cached" in predicted
    waitlist = re.search(r"waitlist v2 \(([0-9a-f-]{36})\)", again)
    assert waitlist is not None, again
    one = ok(runner.invoke(app, ["ml", "predict", "--model", waitlist.group(1)], env=env))
    assert "waitlist: " in one
    assert "no_show:" not in one


def test_an_empty_lake_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = migrated_cli(tmp_path, monkeypatch)
    done = runner.invoke(app, ["ml", "train"])
    assert done.exit_code == 1
    assert "days of history" in " ".join(done.output.split())
    none = runner.invoke(app, ["ml", "predict"])
    assert none.exit_code == 1
    assert "clinicflow ml train" in " ".join(none.output.split())
