"""`clinicflow ml` as typed, over the simulated clinic's lake (tests/support/ml_history.py):
`evaluate --json` prints the five models' held-out figures under the issue's keys, each with
its window, `train` keeps every model in the registry and `predict` caches their predictions
again (all, or one entry's); on an empty lake each says why it cannot, in one line."""

from __future__ import annotations

import json
import re
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
    trained = ok(runner.invoke(app, ["ml", "train"], env=env))
    for kind in issue:
        assert f"{kind} v1 (" in trained, trained
    again = ok(runner.invoke(app, ["ml", "train"], env=env))
    assert "no_show v2" in again
    assert "demand v2" in again
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
