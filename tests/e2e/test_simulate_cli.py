"""`clinicflow simulate` as typed: it writes the clinic it ran in (a valid clinic file),
prints the year's summary, and refuses a database that already has bookings."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clinicflow.catalog.service import check_config
from clinicflow.cli import app
from support.app import CLINIC_YAML


def test_simulate_writes_its_clinic_and_refuses_a_database_with_bookings(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sim.sqlite3'}"
    env = {
        "CLINICFLOW_DATA_DIR": str(tmp_path),
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
        "CLINICFLOW_PASSWORD_HASHING": "insecure-fast",
    }
    args = [
        "simulate",
        "--days",
        "5",
        "--practitioners",
        "2",
        "--seed",
        "3",
        "--until",
        "2026-11-07",
    ]
    args += ["--database-url", url, "--clinic", str(CLINIC_YAML)]
    runner = CliRunner()
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 0, done.output
    out = " ".join(done.output.split())
    for shown in ("patients:", "visits:", "no-shows", "revenue: $", "waitlist joins:"):
        assert shown in out
    assert "left out: counseling: no practitioner offers it" in out
    written = tmp_path / "simulated-clinic.yaml"
    assert f"CLINICFLOW_CONFIG_PATH={written}" in out
    assert check_config(written) == []
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 1
    assert "already has bookings" in " ".join(again.output.split())
