"""What a module fixture makes, made once per run however many xdist workers ask for it.

pytest-xdist hands a module's tests out one at a time, so two or three workers each run the
same module fixture: the ML risk models trained three times over, a simulated month twice
(seconds of CPU each, on a machine the run keeps saturated). Here the first worker to ask
makes it into a folder shared by the run's workers (beside their own temp folders) under a
lock, and keeps the result pickled there; the others wait on the lock and read it back.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], T]
) -> tuple[T, Path]:
    """`make(folder)`'s result, and its folder: made by the first worker to ask, read back
    (unpickled) by the others. Whoever uses what `make` wrote into the folder copies it
    first: the folder is every worker's."""
    base = tmp_path_factory.getbasetemp()
    # A worker's temp folder is `popen-gwN` inside the run's; a run without workers has one.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / name
    kept = folder / "made.pickle"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not kept.exists():
            shutil.rmtree(folder, ignore_errors=True)  # an earlier asker's, failed
            folder.mkdir()
            made = make(folder)
            kept.with_suffix(".part").write_bytes(pickle.dumps(made))
            kept.with_suffix(".part").rename(kept)
            return made, folder
    loaded: T = pickle.loads(kept.read_bytes())  # written by this run, above
    return loaded, folder
