"""Links the app hands out (the OAuth token issuer, sign-in and status links, email links)
point where `clinicflow serve` answers: its scheme, host and port, unless
CLINICFLOW_PUBLIC_URL names another address (a proxy, the clinic's domain)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from clinicflow.bootstrap import build
from clinicflow.cli import app as cli_app
from clinicflow.cli import served_url
from clinicflow.settings import Settings
from support import forked_cli
from support.migrated import migrated
from support.serving_process import free_port, wait_ready

# One fork server a run: tests that fork clinicflow run in one group (support/scheduling.py).
pytestmark = pytest.mark.xdist_group("serial")

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CLINICFLOW_PUBLIC_URL"}
    return env | {
        "CLINICFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}",
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
        "CLINICFLOW_DATA_DIR": str(tmp_path),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
    }


def _api_key(env: dict[str, str]) -> tuple[str, str]:
    settings = Settings.model_validate(
        {k.removeprefix("CLINICFLOW_").lower(): v for k, v in env.items() if "CLINICFLOW_" in k}
    )

    async def go() -> tuple[str, str]:
        await migrated(settings.database_url)
        container = build(settings)
        try:
            view, full = await container.identity.apikeys.create("sync", "it", ["bookings:read"])
            return view.id, full.removeprefix(f"cfk_{view.id}_")
        finally:
            await container.aclose()

    return asyncio.run(go())


def _issuer_of_a_token(base: str, client: tuple[str, str]) -> str:
    form = {"grant_type": "client_credentials", "client_id": client[0], "client_secret": client[1]}
    answer = httpx.post(f"{base}/v1/oauth/token", data=form, timeout=10)
    assert answer.status_code == 200, answer.text
    claims = answer.json()["access_token"].split(".")[1]
    issuer: str = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["iss"]
    return issuer


def _serving(env: dict[str, str], port: int, cwd: Path, *options: str) -> forked_cli.Command:
    # `clinicflow serve` as a process of its own, forked from one that imported clinicflow
    # once (support/forked_cli.py): what is tested is what it serves.
    args = ["serve", "--port", str(port), *options]
    proc = forked_cli.Command(args, env=env, cwd=cwd, stdout=Path(os.devnull))
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
    except AssertionError:
        proc.kill()
        raise
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("configured", [None, "https://clinic.example.com"])
def test_the_token_issuer_is_where_serve_answers_unless_configured(
    tmp_path: Path, configured: str | None
) -> None:
    env = _env(tmp_path)
    client = _api_key(env)
    if configured:
        env["CLINICFLOW_PUBLIC_URL"] = configured
    port = free_port()
    proc = _serving(env, port, tmp_path)
    try:
        issuer = _issuer_of_a_token(f"http://127.0.0.1:{port}", client)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    assert issuer == (configured or f"http://127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("host", "port", "tls", "url"),
    [
        ("127.0.0.1", 9000, False, "http://127.0.0.1:9000"),
        ("0.0.0.0", 9000, False, "http://127.0.0.1:9000"),
        ("clinic.local", 443, True, "https://clinic.local"),
        ("clinic.local", 8443, True, "https://clinic.local:8443"),
        ("::1", 80, False, "http://[::1]"),
        ("::", 8000, False, "http://127.0.0.1:8000"),
    ],
)
def test_the_served_url_has_the_scheme_host_and_port(
    host: str, port: int, tls: bool, url: str
) -> None:
    assert served_url(host, port, tls) == url


@pytest.mark.slow
def test_serve_services_mounts_only_the_contexts_named(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _api_key(env)  # migrates the database
    port = free_port()
    proc = _serving(env, port, tmp_path, "--services", "booking")
    try:
        base = f"http://127.0.0.1:{port}"
        availability = httpx.get(f"{base}/v1/services", timeout=10)
        patients = httpx.get(f"{base}/v1/patients", timeout=10)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    assert availability.status_code == 200
    assert patients.status_code == 404


def test_serve_refuses_an_unknown_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _env(tmp_path).items():
        if name.startswith("CLINICFLOW_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLINICFLOW_SERVICES", raising=False)

    refused = CliRunner().invoke(cli_app, ["serve", "--services", "booking,bilng"])

    assert refused.exit_code == 2
    assert "unknown service(s) bilng" in " ".join(refused.output.split())
    assert "CLINICFLOW_SERVICES" not in os.environ  # one server's choice, not the process's
