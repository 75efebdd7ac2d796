"""The commands people type: `clinicflow demo` serves a demo clinic with open slots, and
`clinicflow config check` prints every problem of a broken configuration."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from typer.testing import CliRunner

from clinicflow.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_serves_a_clinic_with_open_slots(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
    }
    cmd = [sys.executable, "-m", "clinicflow.cli", "demo", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, proc)
        params = {"service": "alternative_medicine", "visit_type": "initial", "duration": 15}
        slots = httpx.get(f"{base}/v1/availability", params=params).json()["slots"]
        assert len(slots) > 0
        booked = httpx.get(f"{base}/v1/bookings").json()["bookings"]
        assert len(booked) >= 4  # the demo clinic's visits
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert "demo clinic ready" in stderr
    assert f"http://127.0.0.1:{port}/docs" in stderr


def _wait_ready(base: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"demo exited with {proc.returncode}: {proc.stderr and proc.stderr.read()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # polling for readiness, not waiting for the clock
    raise AssertionError("demo did not serve within 60 s")


def test_config_check_passes_the_shipped_configuration() -> None:
    result = CliRunner().invoke(app, ["config", "check", str(ROOT / "config" / "clinic.yaml")])
    assert result.exit_code == 0, result.output
    assert "configuration is valid" in result.output


def test_config_check_prints_every_problem_and_fails(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "config" / "clinic.yaml").read_text())
    data["clinic"]["timezone"] = "Mars/Olympus_Mons"
    data["services"]["gaps_coaching"]["durations"]["initial"] = [0]
    bad = tmp_path / "clinic.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 1
    out = " ".join(result.output.split())  # rich may wrap long lines
    assert "clinic.timezone" in out
    assert "services.gaps_coaching.durations.initial[0]" in out
    assert "2 problem(s)" in out
