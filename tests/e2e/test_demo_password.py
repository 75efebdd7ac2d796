"""`make demo` with a demo password no staff account may have says so and stops, instead of
a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicflow.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_a_demo_password_too_short_is_refused_in_plain_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINICFLOW_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("CLINICFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLINICFLOW_CONFIG_PATH", str(ROOT / "config" / "clinic.yaml"))
    monkeypatch.setenv("CLINICFLOW_DEMO_PASSWORD", "short")
    result = CliRunner().invoke(app, ["demo", "--port", "1"])
    assert result.exit_code == 2
    assert "the demo clinic could not be set up" in result.output
    assert "at least 12 characters" in result.output
    assert "Traceback" not in result.output
