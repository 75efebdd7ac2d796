"""A server run as a process of its own (`clinicflow serve`, `demo`, uvicorn): a free port to
give it, waiting until it answers, and the two together for a `with` block.

`clinicflow ARGS` is forked from a process that imported clinicflow once
(support/forked_cli.py); any other command line is a new process."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from support import forked_cli
from support.loopback_tls import loopback_tls

Process = subprocess.Popen[Any] | forked_cli.Command


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: Process, *, seconds: int = 60) -> None:
    """Return once `url` answers 200; fail when `proc` exits first (with what it wrote to a
    piped stderr) or when `seconds` pass."""
    # One client for every poll: a new one costs ~20 ms of CPU (its TLS context).
    with httpx.Client(verify=loopback_tls(), timeout=1) as poll:
        for _ in range(seconds * 10):
            if proc.poll() is not None:
                said = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"{proc.args} exited with {proc.returncode}: {said!r}")
            try:
                if poll.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling for readiness, not waiting for the clock
    raise AssertionError(f"{url} did not answer within {seconds} s")


@contextmanager
def served(
    cmd: Sequence[str],
    env: Mapping[str, str],
    ready: str,
    *,
    log: Path | None = None,
    seconds: int = 60,
    stop_within: int = 30,
) -> Iterator[str]:
    """`cmd` run with `--port` and a free port on 127.0.0.1 for the block: its base URL, once
    its path `ready` answers 200 (within `seconds`). Its output goes to `log` when given (read
    it on failure); it is stopped when the block ends."""
    port = free_port()
    args = [*cmd, "--port", str(port)]
    if args[0] == "clinicflow":
        proc: Process = forked_cli.Command(args[1:], env=env, stdout=log or Path(os.devnull))
        out = None
    else:
        out = log.open("wb") if log is not None else None
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT if out is not None else None
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}{ready}", proc, seconds=seconds)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=stop_within)
        if out is not None:
            out.close()
