"""The suite's shared fixtures: the clock, the databases (which one a test gets: tests/conftest.py),
the app's container, its catalog and key ring, and the log; and the fixture plugins of
tests/support that tests in several folders ask for by name.

A plugin the root conftest registers in each process that runs tests, not in xdist's
controller, which runs none: importing these (the whole app) there held back the start of
every worker by ~3 s.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from clinicflow.calendars.ports import BusyFeed
from clinicflow.catalog import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.infra.crypto import create
from clinicflow.infra.db import Database
from clinicflow.infra.logging import configure_logging, unconfigure_logging
from clinicflow.infra.migrate import upgrade
from clinicflow.shared.clock import FixedClock
from support import forked_cli
from support.app import container_fixture
from support.kept_engine import KeptEngine, KeptPgEngine
from support.migrated import template
from support.pg_copies import PG_ADMIN_DSN, PgCopies, admin_sql, drop_sql, pg_url
from support.pg_tablespace import memory_tablespace

ROOT = Path(__file__).resolve().parents[2]
CLINIC_YAML = ROOT / "config" / "clinic.yaml"
# Tuesday 2026-11-24 09:00 in the clinic's zone (America/Chicago, UTC-6).
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    forked_cli.stop()


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
    with memory_tablespace() as space:
        where = f' TABLESPACE "{space}"' if space else ""
        asyncio.run(admin_sql(f'CREATE DATABASE "{name}"{where}'))
        asyncio.run(upgrade(pg_url(name)))
        yield name
        asyncio.run(admin_sql(drop_sql(name)))


@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    """This process's migrated SQLite file (support/migrated.py): each test copies it."""
    return asyncio.run(template())


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


@pytest.fixture(scope="session")
def kept_pg_engine() -> KeptPgEngine:
    """The engine this process keeps for its tests' PostgreSQL copies (support/kept_engine)."""
    return KeptPgEngine()


@pytest.fixture
def open_database(
    kept_engine: KeptEngine, kept_pg_engine: KeptPgEngine
) -> Callable[[str], Database]:
    """`open_database(url)`: a Database over this test's database, on the engine this process
    keeps for it when no other Database of the test has it yet (support/kept_engine.py),
    else on one of its own."""

    def open_(url: str) -> Database:
        return kept_engine.database(url) or kept_pg_engine.database(url) or Database(url)

    return open_


@pytest.fixture
async def database_of_test(
    database_url: str, open_database: Callable[[str], Database]
) -> AsyncIterator[Database]:
    """A Database over this test's database (`open_database`), disposed after the test."""
    database = open_database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def pg_database_url(pg_copies: PgCopies, kept_pg_engine: KeptPgEngine) -> Iterator[str]:
    """A fresh copy of this worker's migrated PostgreSQL template, for this test alone."""
    name = pg_copies.take()
    yield kept_pg_engine.use(pg_url(name))
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
