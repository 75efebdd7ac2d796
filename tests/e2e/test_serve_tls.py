"""`clinicflow serve --tls-cert --tls-key` serves HTTPS, and its answers carry HSTS."""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from ipaddress import IPv4Address
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from typer.testing import CliRunner

from clinicflow.cli import app
from support import forked_cli
from support.certificates import self_signed
from support.migrated import migrated
from support.serving_process import free_port

# One fork server a run: tests that fork clinicflow run in one group (support/scheduling.py).
pytestmark = pytest.mark.xdist_group("serial")

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = x509.IPAddress(IPv4Address("127.0.0.1"))  # what the certificates name


@pytest.mark.slow
def test_serve_with_a_certificate_answers_over_https_with_hsts(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'tls.sqlite3'}"
    asyncio.run(migrated(database))
    cert, key = self_signed(tmp_path, "clinicflow test", LOOPBACK)
    port = free_port()
    env = {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": database,
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
    }
    args = ["serve", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)]
    # A process of its own, forked from one that imported clinicflow once
    # (support/forked_cli.py): what is tested is what it serves, and how.
    log = tmp_path / "serve.log"
    proc = forked_cli.Command(args, env=env, cwd=tmp_path, stdout=log)
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        answer = _first_answer(f"https://127.0.0.1:{port}/v1/services", trusted, proc, log)
        assert answer.status_code == 200
        assert answer.json()  # the catalog
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served on that port
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path, "clinicflow test", LOOPBACK)
    result = CliRunner().invoke(app, ["serve", "--tls-cert", str(cert)])
    assert result.exit_code == 2
    assert "give both --tls-cert and --tls-key" in result.output


def _first_answer(
    url: str, trusted: ssl.SSLContext, proc: forked_cli.Command, log: Path
) -> httpx.Response:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {log.read_text()}")
        try:
            return httpx.get(url, verify=trusted, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)  # polling for readiness, not waiting for the clock
    raise AssertionError("serve did not answer over HTTPS within 60 s")
