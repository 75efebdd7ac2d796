"""`clinicflow <command>` as a process of its own, forked from one that imported clinicflow
once, instead of a new interpreter importing it again (~2.5 s of CPU each time).

For the tests that start the command many times (workers SIGKILLed and started again, the
CLI refusing to start): the forked process is a separate OS process running the command's
own entry point (`clinicflow.cli.app`) with the environment, working directory and output
files given, so it opens its own connections, is killed with its own signals, and exits
with the command's status. Only the interpreter's start-up is not repeated; the tests that
start servers (`serve`) and one-off commands keep `python -m clinicflow.cli`.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver as forkserver
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

PRELOADED = ["clinicflow.cli"]  # imported once, in the fork server (multiprocessing's)


def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


class Command:
    """One `clinicflow <args>` process, with the part of Popen's interface tests use."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        stdout: Path,
        stderr: Path | None = None,
    ) -> None:
        self.args = ["clinicflow", *args]
        self._process = _context().Process(
            target=_run,
            args=(list(args), dict(env), cwd and str(cwd), str(stdout), str(stderr or stdout)),
            daemon=False,
        )
        self._process.start()
        self.pid: int = self._process.pid  # type: ignore[assignment]

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._process.exitcode


def run(
    args: Sequence[str], *, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`clinicflow <args>` to its end, as subprocess.run(..., capture_output=True, text=True)
    would run `python -m clinicflow.cli <args>`."""
    with tempfile.TemporaryDirectory(prefix="clinicflow-cli-") as directory:
        out, err = Path(directory) / "stdout", Path(directory) / "stderr"
        command = Command(args, env=env, stdout=out, stderr=err)
        try:
            code = command.wait(timeout)
        except subprocess.TimeoutExpired:
            command.kill()
            command.wait()
            raise
        return subprocess.CompletedProcess(command.args, code, out.read_text(), err.read_text())


def stop() -> None:
    """Ends the fork server, if this process started one, and waits for it: the CPU it and
    the processes it forked used then counts as the suite's (resource usage of children)."""
    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:
        server._stop()


def _run(args: list[str], env: dict[str, str], cwd: str | None, stdout: str, stderr: str) -> Any:
    """In the forked process: the command's environment, directory and output, then its
    entry point (which exits with the command's status)."""
    os.environ.clear()
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    for fd, path in ((1, stdout), (2, stderr)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(target, fd)
        os.close(target)
    from clinicflow.cli import app  # already imported: the fork server preloaded it

    return app(args=args, prog_name="clinicflow")
