"""Waiting on another process (a `clinicflow worker` under test) for something to happen."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


def wait_until(
    check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    """Polls `check` until it holds; fails when `process` exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None:
            raise AssertionError(f"the process exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling another process, not waiting for a time to pass
