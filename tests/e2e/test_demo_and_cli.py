"""The commands people type: `clinicflow demo` serves a demo clinic with open slots, and
`clinicflow config check` prints every problem of a broken configuration."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select, text
from typer.testing import CliRunner

from clinicflow.cli import app
from clinicflow.infra.audit import AuditEntry
from clinicflow.infra.audit import use_key as use_audit_key
from clinicflow.infra.crypto import KeyRing, create, load
from clinicflow.infra.db import Database
from clinicflow.patients import PatientDetails, PatientDirectory
from clinicflow.patients.tables import patients, seal_context
from support.db import written
from support.migrated import migrated
from support.serving_process import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_serves_a_clinic_with_open_slots(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
        "CLINICFLOW_DEMO_PASSWORD": "demo front desk password",
    }
    cmd = [sys.executable, "-m", "clinicflow.cli", "demo", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        # The demo loads its clinic and simulates two weeks before it serves (about 10 s
        # alone, more beside the rest of the suite): a hang is what this bound catches.
        wait_ready(f"{base}/healthz", proc, seconds=180)
        home = httpx.get(f"{base}/")
        params = {"service": "alternative_medicine", "visit_type": "initial", "duration": 15}
        slots = httpx.get(f"{base}/v1/availability", params=params).json()["slots"]
        assert len(slots) > 0
        assert httpx.get(f"{base}/v1/bookings").status_code == 401
        signed_in = httpx.post(
            f"{base}/v1/auth/login",
            json={"username": "frontdesk", "password": "demo front desk password"},
        )
        staff = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        booked = httpx.get(f"{base}/v1/bookings", headers=staff).json()["bookings"]
        assert len(booked) >= 4  # the demo clinic's visits
        _the_dashboard_has_the_demos_figures(base)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert "demo clinic ready" in stderr
    # The first address printed is the booking site, and it lists the services.
    first_url = re.search(r"https?://\S+", stderr)
    assert first_url is not None
    assert first_url.group(0) == f"http://127.0.0.1:{port}/"
    assert home.status_code == 200
    for name in ("Alternative medicine", "GAPS nutrition coaching", "Counseling"):
        assert name in home.text
    # The front-desk password is shown once; the demo says how to get a new one.
    assert "clinicflow users reset-password frontdesk" in " ".join(stderr.split())
    assert f"http://127.0.0.1:{port}/openapi.json" in stderr


def _the_dashboard_has_the_demos_figures(base: str) -> None:
    """The demo's analyst (`owner`, the demo password) sees revenue and waitlists on /owner,
    with the session cookie a staff sign-in sets."""
    signed_in = httpx.post(
        f"{base}/v1/auth/login",
        json={"username": "owner", "password": "demo front desk password"},
    )
    cookies = {"cf_session": signed_in.json()["token"]}
    page = httpx.get(f"{base}/owner?days=90", cookies=cookies)
    assert page.status_code == 200
    for table in ("revenue-by-service", "revenue-by-day", "waitlist-size", "waitlist-growth"):
        assert f'id="table-{table}"' in page.text
    assert "<td" in page.text
    net = re.search(r"Net over the last 90 days: <strong>\$([0-9,]+\.[0-9]{2})</strong>", page.text)
    assert net is not None
    assert float(net.group(1).replace(",", "")) > 0
    assert re.search(r'<th scope="row">Counseling</th><td class="num">[1-9]', page.text)
    assert re.search(r'<th scope="row">Equine therapy</th><td class="num">[1-9]', page.text)
    revenue_csv = httpx.get(f"{base}/owner/revenue-by-day.csv?days=90", cookies=cookies)
    assert revenue_csv.headers["content-type"].startswith("text/csv")
    assert len(revenue_csv.text.splitlines()) > 5


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


def test_keys_rotate_then_retire_the_old_key_keeps_patients_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    key_file = tmp_path / "keys.json"
    monkeypatch.setenv("CLINICFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CLINICFLOW_KEYS_FILE", str(key_file))
    asyncio.run(migrated(url))
    old = create(key_file)
    asyncio.run(_add_patient(url, old))
    runner = CliRunner()

    rotated = runner.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "4 values re-encrypted" in " ".join(rotated.output.split())
    retired = runner.invoke(app, ["keys", "retire", old.active])
    assert retired.exit_code == 0, retired.output
    ring = load(key_file)
    assert old.active not in ring.keys
    assert asyncio.run(_first_name(url, ring)) == "Ada"
    refused = runner.invoke(app, ["keys", "retire", ring.active])
    assert refused.exit_code == 1


async def _add_patient(url: str, ring: KeyRing) -> None:
    db = Database(url)
    async with written(db) as uow:
        conn = uow.connection
        details = PatientDetails("Ada", "Quill", "ada@example.com", "+15125550101")
        await PatientDirectory(ring).match_or_create(conn, details, datetime.now(UTC))
    await db.dispose()


async def _first_name(url: str, ring: KeyRing) -> str:
    db = Database(url)
    async with db.read() as conn:
        row_id, sealed = (
            await conn.execute(select(patients.c.id, patients.c.first_name_enc))
        ).one()
    await db.dispose()
    return ring.decrypt(sealed, context=seal_context("first_name_enc"), row=row_id)


def test_audit_verify_passes_an_intact_log_and_names_an_edited_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    monkeypatch.setenv("CLINICFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CLINICFLOW_DATA_DIR", str(tmp_path))
    asyncio.run(migrated(url))
    ring = create(tmp_path / "keys.json")
    asyncio.run(_append_audit_rows(url, 5, ring))
    runner = CliRunner()

    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "5 rows" in intact.output
    asyncio.run(_tamper(url, "UPDATE infra_audit_log SET resource_id = 'other' WHERE id = 3"))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "row 3" in " ".join(broken.output.split())


async def _append_audit_rows(url: str, count: int, ring: KeyRing) -> None:
    db = Database(url)
    use_audit_key(db, ring.audit_key)
    for n in range(count):
        async with written(db) as uow:
            entry = AuditEntry("user", "u1", "front_desk", "read", "patient", f"p{n}")
            uow.audit(entry, datetime.now(UTC))
    await db.dispose()


async def _tamper(url: str, sql: str) -> None:
    db = Database(url)
    async with written(db) as uow:
        conn = uow.connection
        await conn.execute(text(sql))
    await db.dispose()
