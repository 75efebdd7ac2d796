"""`clinicflow serve` stops within its grace period on SIGTERM, even while clients keep it
busy: the orchestrator's grace period (Kubernetes' terminationGracePeriodSeconds) is a hard
bound, after which the process is killed mid-request."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from support import forked_cli
from support.loopback_tls import loopback_tls
from support.migrated import migrated
from support.serving_process import free_port, wait_ready

# One fork server a run: tests that fork clinicflow run in one group (support/scheduling.py).
pytestmark = pytest.mark.xdist_group("serial")

ROOT = Path(__file__).resolve().parents[2]
SHUTDOWN_SECONDS = 3
# Kubernetes gives the api pods 30 s (deploy/k8s/api.yaml), 5 of them for preStop; the app's
# own bound, plus the lifespan's shutdown, must fit well inside what is left.
GRACE_SECONDS = 20
CLIENTS = 40
SLOW_CLIENTS = 4


async def _load(base: str, stop: asyncio.Event, answered: list[int]) -> None:
    """Clients on keep-alive connections asking for availability (the heaviest public read)
    and for a booking list, as fast as the server answers, until told to stop."""
    params = {"service": "alternative_medicine", "visit_type": "initial", "duration": 15}

    async def client() -> None:
        async with httpx.AsyncClient(verify=loopback_tls(), base_url=base, timeout=30) as http:
            while not stop.is_set():
                try:
                    resp = await http.get("/v1/availability", params=params)
                    answered.append(resp.status_code)
                except httpx.TransportError:
                    return  # the server closed the connection: it is shutting down

    async def slow_client() -> None:
        # A request whose body trickles in (a phone on a bad network): it stays under way
        # for as long as the client likes, unless the server bounds its shutdown.
        _, writer = await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
        head = "POST /v1/bookings HTTP/1.1\r\nHost: clinic\r\nContent-Type: application/json\r\n"
        writer.write(f"{head}Content-Length: 100000\r\n\r\n{{".encode())
        try:
            while not stop.is_set():
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.2)
        except ConnectionError:
            pass  # closed by the server
        finally:
            writer.close()

    await asyncio.gather(
        *(client() for _ in range(CLIENTS)), *(slow_client() for _ in range(SLOW_CLIENTS))
    )


async def _terminate_under_load(base: str, proc: forked_cli.Command) -> float:
    stop = asyncio.Event()
    answered: list[int] = []
    load = asyncio.create_task(_load(base, stop, answered))
    while len(answered) < CLIENTS:  # noqa: ASYNC110 (polling the load: busy enough yet?)
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    while proc.poll() is None and time.monotonic() - signalled < GRACE_SECONDS + 10:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    took = time.monotonic() - signalled
    stop.set()
    await load
    return took


@pytest.mark.slow
def test_sigterm_stops_serve_within_its_grace_period_under_load(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.sqlite3'}"
    asyncio.run(migrated(url))
    port = free_port()
    env = {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": url,
        "CLINICFLOW_KEYS_FILE": str(tmp_path / "keys.json"),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
        "CLINICFLOW_RATE_LIMITS_ENABLED": "false",
        "CLINICFLOW_AVAILABILITY_CACHE": "false",
    }
    args = ["serve", "--port", str(port), "--shutdown-seconds", str(SHUTDOWN_SECONDS)]
    # A process of its own, forked from one that imported clinicflow once
    # (support/forked_cli.py): its own signal handling and exit status are what is tested.
    log, out = tmp_path / "serve.log", tmp_path / "serve.out"
    proc = forked_cli.Command(args, env=env, cwd=tmp_path, stdout=out, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/healthz", proc)
        took = asyncio.run(_terminate_under_load(base, proc))
        assert proc.poll() is not None, f"serve still running {took:.1f} s after SIGTERM"
        assert took < GRACE_SECONDS, f"serve took {took:.1f} s to stop after SIGTERM"
        # uvicorn re-raises the signal once it has shut down: the exit status says SIGTERM,
        # and the log says the shutdown ran (the lifespan's too) rather than being cut short.
        assert proc.returncode in (0, -signal.SIGTERM)
        lines = log.read_text()
        assert "Waiting for application shutdown" in lines
        assert "Finished server process" in lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
