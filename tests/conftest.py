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
import io
import logging
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import asyncpg
import httpx
import pytest

from clinicflow.calendars.ports import BusyFeed
from clinicflow.catalog import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.infra.crypto import create
from clinicflow.infra.logging import configure_logging, unconfigure_logging
from clinicflow.infra.migrate import upgrade
from clinicflow.shared.clock import FixedClock
from support import forked_cli, scheduling
from support.app import container_fixture
from support.kept_engine import KeptEngine
from support.pg_copies import PG_ADMIN_DSN, PgCopies, admin_sql, drop_sql, pg_url
from support.pg_tablespace import memory_tablespace

ROOT = Path(__file__).resolve().parents[1]
CLINIC_YAML = ROOT / "config" / "clinic.yaml"
# Tuesday 2026-11-24 09:00 in the clinic's zone (America/Chicago, UTC-6).
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Fixtures of tests/support that tests in several folders ask for by name: the event bus's
# database and transports, the fake vendors' servers and HTTP client, the notifications
# context over a real SMTP server, the payments app with its gateways, and a webhook receiver.
pytest_plugins = [
    "support.event_bus",
    "support.fake_vendor",
    "support.ehr_servers",  # after fake_vendor: it uses that plugin's module
    "support.graph_servers",
    "support.ml_history",
    "support.notifications",
    "support.payment_servers",
    "support.payments",
    "support.planning",
    "support.radicale_server",
    "support.webhooks",
]


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
    forked_cli.stop()
    made = session.config.stash.get(_IN_MEMORY, None)
    if made is not None and exitstatus == pytest.ExitCode.OK:
        shutil.rmtree(made, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    scheduling.order(items)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist sends the ids to its scheduler
def pytest_collection_finish(session: pytest.Session) -> None:
    scheduling.join_groups(session.config, session.items)
    if not session.config.option.collectonly and any(map(scheduling.reads_history, session.items)):
        from support.ml_history import make_in_background  # a plugin: imported after rewriting

        make_in_background()
    _settle_garbage_collection()


# The cyclic garbage collector's first generation, in objects allocated: CPython's default is
# 700, which a test's app, container and requests pass hundreds of times.
GC_FIRST_GENERATION = 20_000


def _settle_garbage_collection() -> None:
    """Once collected, the modules, routes, models and fixtures of the session are kept for
    the whole run: frozen out of the collector's sight (`gc.freeze`), later collections do
    not walk them again, and a larger first generation runs the collector less often. Only
    the suite's own processes (the servers and CLIs it starts keep CPython's defaults).
    Measured in benchmarks/README.md ("The suite's own time")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_FIRST_GENERATION, *gc.get_threshold()[1:])


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


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _pg_reachable() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test gets a fresh copy of it."""
    problem = _pg_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(
                f"PostgreSQL is required in CI and unreachable at {PG_ADMIN_DSN}: {problem}"
            )
        pytest.skip(
            f"PostgreSQL unreachable at {PG_ADMIN_DSN} ({problem}); PostgreSQL tests skipped"
        )
    name = f"clinicflow_tpl_{uuid.uuid4().hex[:10]}"
    # In memory where the server is on this machine; its copies inherit it (pg_tablespace).
    with memory_tablespace(PG_ADMIN_DSN) as space:
        where = f' TABLESPACE "{space}"' if space else ""
        asyncio.run(admin_sql(f'CREATE DATABASE "{name}"{where}'))
        asyncio.run(upgrade(pg_url(name)))
        yield name
        asyncio.run(admin_sql(drop_sql(name)))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for this test; which one: see the module's docstring."""
    # Synchronous on purpose: it runs before the test's event loop starts.
    if getattr(request, "param", "sqlite") == "sqlite":  # unparametrized: asked for by name
        # At the process's one path: its kept engine serves the container (support/kept_engine).
        kept: KeptEngine = request.getfixturevalue("kept_engine")
        yield kept.fresh_copy(request.getfixturevalue("sqlite_template"))
        return
    yield request.getfixturevalue("pg_database_url")


@pytest.fixture(scope="session")
def kept_engine(tmp_path_factory: pytest.TempPathFactory) -> KeptEngine:
    """The SQLite test database's one path in this process, and the engine kept for it."""
    return KeptEngine(tmp_path_factory.mktemp("kept-db") / "clinicflow.sqlite3")


@pytest.fixture
def pg_database_url(pg_copies: PgCopies) -> Iterator[str]:
    """A fresh copy of this worker's migrated PostgreSQL template, for this test alone."""
    name = pg_copies.take()
    yield pg_url(name)
    pg_copies.drop(name)


@pytest.fixture(scope="session")
def pg_copies(pg_template: str) -> Iterator[PgCopies]:
    """Copies of `pg_template`, made ahead and dropped behind (support/pg_copies.py)."""
    copies = PgCopies(PG_ADMIN_DSN, pg_template)
    yield copies
    copies.close()


@pytest.fixture(scope="session")
def clinic_catalog() -> Catalog:
    """config/clinic.yaml, parsed once per worker (a Catalog is frozen): ~12 ms a container."""
    return load_catalog(CLINIC_YAML)


@pytest.fixture(scope="session")
def key_ring_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key ring made once per worker: `container` fixtures copy it into their test's data
    directory before the container opens it, where build() would otherwise make a new one
    (first set-up, tested in tests/e2e/test_key_safety.py: a look at the empty database,
    three fsyncs)."""
    path = tmp_path_factory.mktemp("key-ring") / "keys.json"
    create(path)
    return path


@pytest.fixture
def provider_http() -> httpx.AsyncClient | None:
    """The HTTP client of the container's provider adapters (Stripe, PayPal, …): None lets
    build() make its own; a module whose fake providers serve on loopback gives one."""
    return None


@pytest.fixture
def calendar_feeds() -> Sequence[BusyFeed] | None:
    """The external calendars the container reads busy time from: None builds those the
    settings configure; a module with in-memory or loopback feeds gives its own."""
    return None


# The app's container over the folder's (or module's) `settings`, closed after the test.
container = container_fixture()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Everything the app logs, as `clinicflow serve` formats it, captured in memory."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    out = io.StringIO()
    configure_logging("DEBUG", stream=out)
    yield out
    root.handlers[:], level = saved
    root.setLevel(level)
    unconfigure_logging()
