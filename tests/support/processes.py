"""Waiting on another process (a `clinicflow worker` under test) for something to happen."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from support import forked_cli
from support.redis_probe import REDIS_URL

CONFIG = Path(__file__).resolve().parents[2] / "config" / "clinic.yaml"


def wait_until(
    check: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes] | forked_cli.Command,
    timeout: float = 60,
) -> None:
    """Polls `check` until it holds; fails when `process` exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None:
            raise AssertionError(f"the process exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling another process, not waiting for a time to pass


def worker_env(
    database_url: str, data_dir: Path, stream: str, *, claim_idle_seconds: str = "0.5"
) -> dict[str, str]:
    """The environment of a `clinicflow worker` under test: this process's, with the clinic's
    configuration, the database, and events taken from the Redis `stream`, polled ten times a
    second and a dead worker's taken over after `claim_idle_seconds`."""
    return {
        **os.environ,
        "CLINICFLOW_DATABASE_URL": database_url,
        "CLINICFLOW_DATA_DIR": str(data_dir),
        "CLINICFLOW_CONFIG_PATH": str(CONFIG),
        "CLINICFLOW_EVENT_TRANSPORT": "redis",
        "CLINICFLOW_REDIS_URL": REDIS_URL,
        "CLINICFLOW_EVENT_STREAM": stream,
        "CLINICFLOW_EVENT_CLAIM_IDLE_SECONDS": claim_idle_seconds,
        "CLINICFLOW_EVENT_POLL_SECONDS": "0.1",
    }


def start_worker(logs: Path, name: str, env: Mapping[str, str]) -> forked_cli.Command:
    """`clinicflow worker` as a process of its own, its output in `logs`/`name`.log: forked
    from a process that imported clinicflow once (support/forked_cli.py), since what is
    tested (a worker killed, the next taking over) happens after the imports."""
    return forked_cli.Command(["worker"], env=env, cwd=logs, stdout=logs / f"{name}.log")
