"""Shared fixtures: the clock, the databases, and the suite's own settings.

Which database a test gets (`database_url`, and everything built on it):
- SQLite by default: the embedded default, no server needed, a file copy per test.
- SQLite and PostgreSQL for tests about the database itself, marked
  `@pytest.mark.both_databases` (a test, or a module's `pytestmark`): constraints and
  uniqueness, races, locking and group commit, migrations and schema drift, SQL that the
  dialects answer differently (dates, aggregates, ordering, search), repositories' writes,
  the outbox/relay/inbox, idempotency, retention and the audit chain. PostgreSQL tests skip
  locally when it is unreachable and fail in CI.
- SQLite alone for a test that is not about the database in a module marked both_databases:
  `@pytest.mark.one_database` (authorization, validation, pricing and other rules).
- One of them when a test asks: `@pytest.mark.parametrize("database_url", ["postgres"],
  indirect=True)`.
`pytest --all-databases` runs every database test on both.

Staff passwords are hashed at argon2id's floor here (CLINICFLOW_PASSWORD_HASHING, set before
any Settings is built, subprocesses included); tests/unit/identity/test_passwords.py checks
that production settings hash at full strength.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import pytest
import uvloop

# The fixtures and the fixture plugins of tests/support, in the test processes only
# (support/suite_fixtures.py): the xdist controller runs no test, and importing them (the
# whole app) there held back the start of every worker by ~3 s.
SUITE_FIXTURES = "support.suite_fixtures"
# Asserts in tests/support read as they do in tests: pytest rewrites a plugin's own module,
# but not what it imports before its pytest_plugins are read, nor what a folder's conftest
# imports first.
pytest.register_assert_rewrite("support")

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than cores. The suite waits on servers, databases and
    browsers about a third of its time, so with one worker per core the cores idle (on
    2 cores: 4m26 with 2 workers, 3m50 with 3, 3m48 with 4)."""
    return (os.cpu_count() or 1) + 1


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all-databases",
        action="store_true",
        help="run every test that uses a database on SQLite and on PostgreSQL",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Argon2id at production strength costs ~80 ms a hash; the suite makes thousands.
    os.environ.setdefault("CLINICFLOW_PASSWORD_HASHING", "insecure-fast")
    _keep_bytecode()
    _plain_interrupt()
    _temp_in_memory(config)
    if not _is_xdist_controller(config):
        config.pluginmanager.import_plugin(SUITE_FIXTURES)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The loop an async test (and its async fixtures) runs on: uvloop, the loop `clinicflow
    serve` (uvicorn's `loop="auto"`) and `clinicflow worker` run on in production; a test
    marked `asyncio_loop` is about asyncio's own loop and gets it. Nine integration modules
    spent 2 to 7% less CPU on uvloop (benchmarks/README.md, "Ninth pass")."""
    if item.get_closest_marker("asyncio_loop") is not None:
        return {"asyncio": asyncio.new_event_loop}
    return {"uvloop": uvloop.new_event_loop}


def _is_xdist_controller(config: pytest.Config) -> bool:
    """This process hands the tests to xdist's workers and runs none itself."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _plain_interrupt() -> None:
    """Ctrl-C raises KeyboardInterrupt, as Python's own handler does, from a handler of ours.

    Under Python's own handler every `asyncio.Runner.run` swaps in one that cancels its task,
    and on the way out asks `signal.getsignal` whether that one is still in place. On 3.11
    getsignal turns a handler into an enum member first and fails, formatting the handler's
    repr for the ValueError it drops: the task's, with its result. pytest-asyncio runs every
    async fixture that way, so each test formatted the repr of its container (every part,
    field by field): half the CPU of a test that makes one request (benchmarks/README.md,
    "The suite's own time"). With any other handler installed, asyncio leaves SIGINT alone."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)


def _keep_bytecode() -> None:
    """Every server, worker and CLI run the suite starts (a hundred or so), and each xdist
    worker, imports clinicflow afresh; under PYTHONDONTWRITEBYTECODE each of them also compiles
    all of it from source, ~0.3 s of CPU apiece. The bytecode is kept instead, outside the
    source tree (PYTHONPYCACHEPREFIX), which is what that setting is usually there to keep clean."""
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not os.environ.get("PYTHONPYCACHEPREFIX"):
        cache = Path(tempfile.gettempdir()) / f"clinicflow-pycache-{os.getuid()}"
        os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
        del os.environ["PYTHONDONTWRITEBYTECODE"]
        # This process too, from here on: a -n0 run collects (and assertion-rewrites) every
        # test module itself, ~3 s of CPU a run without the cache.
        sys.pycache_prefix = str(cache)
        sys.dont_write_bytecode = False


# Where a run's temporary folders go when the machine has room in memory (_temp_in_memory).
MEMORY_TEMP = Path("/dev/shm")
MEMORY_TEMP_NEEDS = 6 * 2**30  # a run writes ~2 GB: a SQLite copy for each test, and more
MEMORY_TEMP_KEPT = timedelta(days=1)  # a failed run's folder, for a look, then pruned
_IN_MEMORY = pytest.StashKey[Path]()


def _temp_in_memory(config: pytest.Config) -> None:
    """The run's temporary folders (every test's SQLite copy, data folder and key ring) in
    memory, on /dev/shm, unless --basetemp says where or there is too little room: the file
    system's journal and page-cache work for ~2 GB of short-lived files cost the run ~5 s of
    CPU and 10 s of wall on this 2-core machine (benchmarks/README.md, "Third pass"). The
    databases are the same SQLite files, only held in memory. Each run gets a folder of its
    own (runs side by side do not touch each other's), deleted when the run passes and kept
    a day when it fails. The xdist workers are handed their part of it by the controller."""
    if config.option.basetemp or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    try:
        if shutil.disk_usage(MEMORY_TEMP).free < MEMORY_TEMP_NEEDS:
            return
        root = MEMORY_TEMP / f"clinicflow-pytest-{os.getuid()}"
        root.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return  # no /dev/shm, or not ours to write: the system's temporary folder, as before
    old = datetime.now(UTC) - MEMORY_TEMP_KEPT
    for run in root.glob("run-*"):
        if datetime.fromtimestamp(run.stat().st_mtime, UTC) < old:
            shutil.rmtree(run, ignore_errors=True)
    config.option.basetemp = tempfile.mkdtemp(prefix="run-", dir=root)
    config.stash[_IN_MEMORY] = Path(config.option.basetemp)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    made = session.config.stash.get(_IN_MEMORY, None)
    if made is not None and exitstatus == pytest.ExitCode.OK:
        shutil.rmtree(made, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from support import scheduling

    scheduling.order(items)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist sends the ids to its scheduler
def pytest_collection_finish(session: pytest.Session) -> None:
    from support import scheduling

    scheduling.join_groups(session.config, session.items)
    if not session.config.option.collectonly and any(map(scheduling.reads_history, session.items)):
        from support.ml_history import make_in_background  # a plugin: imported after rewriting

        make_in_background()
    _settle_garbage_collection()


# The cyclic garbage collector's first generation, in objects allocated: CPython's default is
# 700, which a test's app, container and requests pass hundreds of times.
GC_FIRST_GENERATION = 20_000


def _collect_garbage_less_often() -> None:
    """From here on (the root conftest is read before the fixtures, the app and the test
    modules are imported), the first generation is `GC_FIRST_GENERATION`: importing and
    collecting the suite ran the collector about a thousand times in each process."""
    gc.set_threshold(GC_FIRST_GENERATION, *gc.get_threshold()[1:])


_collect_garbage_less_often()


def _settle_garbage_collection() -> None:
    """Once collected, the modules, routes, models and fixtures of the session are kept for
    the whole run: frozen out of the collector's sight (`gc.freeze`), later collections do
    not walk them again. Only the suite's own processes (the servers and CLIs it starts keep
    CPython's defaults).
    Measured in benchmarks/README.md ("The suite's own time")."""
    gc.collect()
    gc.freeze()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" not in metafunc.fixturenames or _picks_database_itself(metafunc):
        return
    marked = metafunc.definition.get_closest_marker
    both = metafunc.config.getoption("--all-databases") or (
        marked("both_databases") is not None and marked("one_database") is None
    )
    metafunc.parametrize("database_url", DATABASES if both else DATABASES[:1], indirect=True)


def _picks_database_itself(metafunc: pytest.Metafunc) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if "database_url" in (
            names.replace(" ", "").split(",") if isinstance(names, str) else names
        ):
            return True
    return False
