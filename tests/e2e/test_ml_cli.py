"""`clinicflow ml` as typed, over the simulated clinic's lake (tests/support/ml_history.py):
`evaluate --json` prints each model's held-out figures under the issue's keys, `train` keeps
both models and `predict` caches their predictions again; on an empty lake each says why it
cannot, in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicflow.cli import app
from support.cli_runner import migrated_cli, ok
from support.ml_history import MlHistory

pytestmark = pytest.mark.slow


def _env(history: MlHistory, work: Path) -> dict[str, str]:
    s = history.settings(work)
    return {
        "CLINICFLOW_DATABASE_URL": s.database_url,
        "CLINICFLOW_KEYS_FILE": str(s.keys_file),
        "CLINICFLOW_CONFIG_PATH": str(s.config_path),
        "CLINICFLOW_DATA_DIR": str(work),
        "CLINICFLOW_LAKE_CATALOG_URL": str(s.lake_catalog_url),
        "CLINICFLOW_LAKE_WAREHOUSE": str(s.lake_warehouse),
    }


def test_evaluate_train_and_predict(simulated_lake: MlHistory, tmp_path: Path) -> None:
    runner, env = CliRunner(), _env(simulated_lake, tmp_path)
    done = runner.invoke(app, ["ml", "evaluate", "--json"], env=env)
    assert done.exit_code == 0, done.output
    figures = json.loads(done.stdout)
    assert set(figures) == {"no_show", "churn"}  # demand, waitlist, schedule: not here yet
    assert {"auc", "baseline_auc", "ece", "window"} <= set(figures["no_show"])
    assert {"c_index", "auc_60d", "window"} <= set(figures["churn"])
    assert figures["no_show"]["window"]["start"] > figures["no_show"]["train_window"]["start"]
    trained = ok(runner.invoke(app, ["ml", "train"], env=env))
    assert "no_show v1" in trained
    assert "churn v1" in trained
    again = ok(runner.invoke(app, ["ml", "train"], env=env))
    assert "no_show v2" in again
    assert "churn v2" in again
    predicted = ok(runner.invoke(app, ["ml", "predict"], env=env))
    assert "no_show:" in predicted
    assert "churn:" in predicted
    assert "predictions cached" in predicted


def test_an_empty_lake_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = migrated_cli(tmp_path, monkeypatch)
    done = runner.invoke(app, ["ml", "train"])
    assert done.exit_code == 1
    assert "days of history" in " ".join(done.output.split())
    none = runner.invoke(app, ["ml", "predict"])
    assert none.exit_code == 1
    assert "clinicflow ml train" in " ".join(none.output.split())
