"""`clinicflow <command>` as a process of its own, forked from one that imported clinicflow
once, instead of a new interpreter importing it again (~2.5 s of CPU each time).

For the tests that start the command as a process (servers, workers SIGKILLed and started
again, the CLI refusing to start, a sync killed mid-batch): the forked process is a separate
OS process running the command's own entry point (`clinicflow.cli.app`) with the
environment, working directory, PYTHONPATH and output files given, so it opens its own
sockets and connections, is stopped or killed with its own signals, and exits with the
command's status (or -signal, as Popen says). Only the interpreter's start-up and the
imports are not repeated. `serve --workers N` still starts N fresh interpreters (uvicorn
spawns them), and to multiprocessing the process looks like `python -m clinicflow.cli`, so
each of them imports the CLI first, as in production.

Kept on a new interpreter, because they are about it: tests/unit/test_startup_imports.py
(what importing the CLI pulls in) and the demo test (tests/e2e/test_demo_and_cli.py: the
real `python -m clinicflow.cli` entry, end to end).
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import multiprocessing.forkserver as forkserver
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

# Imported once, in the fork server (multiprocessing's): the CLI, what `serve` imports when it
# runs, and the lake's libraries, which a server's or worker's first lake sync imports (pyiceberg
# with pyarrow and pandas: ~1 s of CPU in each forked process, 27 s a run), DuckDB, which a
# worker's forecast job imports (~0.2 s in each of the crash tests' workers), and httpx with
# httpcore, which the app's outbound clients import as they are made (~0.06 s each), and asyncpg
# and anyio's asyncio backend, which a worker on PostgreSQL imports as it connects. Importing
# them starts nothing of ours (no loop, connection or file). It does start threads: numpy's
# (the CLI's) and the background thread of pyarrow's jemalloc, whose fork handlers
# (pthread_atfork) leave a forked child's allocator sound; the forked servers and the crash
# tests' workers run in such children.
PRELOADED = [
    "clinicflow.cli",
    "clinicflow.gateway.app",
    "clinicflow.gateway.serving",
    "pyiceberg.catalog.sql",
    "pyiceberg.io.pyarrow",
    "pyiceberg.table",
    "duckdb",
    "httpx",
    "httpcore",
    "asyncpg",
    "anyio._backends._asyncio",
]


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
        self.stderr = None  # written to a file, never piped (Popen's attribute, for readers)
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
    """In the forked process: the command's environment, directory, import path and output,
    then its entry point (which exits with the command's status)."""
    os.environ.clear()
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    # A new interpreter would put PYTHONPATH first on its path (a test's own subscribers).
    given = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [p for p in given if p not in sys.path]
    # What `python -m clinicflow.cli ARGS` would have: multiprocessing's spawn (uvicorn's
    # workers) reads __main__'s spec, and each worker imports that module first.
    sys.argv = ["clinicflow", *args]
    sys.modules["__main__"].__spec__ = importlib.util.find_spec("clinicflow.cli")
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND),
        (2, stderr, os.O_WRONLY | os.O_CREAT | os.O_APPEND),
    ):
        target = os.open(path, flags, 0o600)
        os.dup2(target, fd)
        os.close(target)
    # Standard input on descriptor 0, as a new process has it (multiprocessing gave this one
    # another): `serve --workers N` hands it to each worker (uvicorn reopens it there).
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 (the process's own)
    from clinicflow.cli import app  # already imported: the fork server preloaded it

    return app(args=args, prog_name="clinicflow")
