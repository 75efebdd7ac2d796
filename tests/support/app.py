"""The app under test: its clinic file, its container, signed-in callers, and the app served
on loopback."""

from __future__ import annotations

import functools
import shutil
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

import httpx
import pytest_asyncio
import uvicorn

from clinicflow.bootstrap import Container, build
from clinicflow.bootstrap.waitlist import load_policy
from clinicflow.calendars.ports import BusyFeed
from clinicflow.catalog import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.gateway.app import create_app
from clinicflow.identity.users.domain.totp import code_at
from clinicflow.infra.db import Database
from clinicflow.infra.live_keys import LiveKeyRing
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from support.uvicorn_server import loopback_socket, running

CLINIC_YAML = Path(__file__).resolve().parents[2] / "config" / "clinic.yaml"
PASSWORD = "correct horse battery staple"
TEST_REQUEST_DEADLINE = 60.0


def clinic_settings(
    database_url: str, data_dir: Path, *, config_path: Path = CLINIC_YAML, **more: Any
) -> Settings:
    """A test's settings: `database_url`, config/clinic.yaml (or `config_path`), and `data_dir`
    holding the data and the key ring; `more` settings as named.

    The request deadline is a minute, not production's 10 s: on a machine running the suite's
    three workers beside other work an SQLite request has been seen to wait past 10 s, and a
    503 `deadline_exceeded` there says nothing about the rule a test checks.
    tests/integration/test_request_deadline.py sets its own."""
    return Settings(
        database_url=database_url,
        config_path=config_path,
        data_dir=data_dir,
        keys_file=data_dir / "keys.json",
        **({"request_deadline_seconds": TEST_REQUEST_DEADLINE} | more),
    )


def build_for_test(
    settings: Settings,
    *,
    clock: Clock,
    catalog: Catalog,
    key_ring: Path,
    http: httpx.AsyncClient | None = None,
    feeds: Sequence[BusyFeed] | None = None,
    database: Database | None = None,
) -> Container:
    """build() as a test's `container` fixture calls it (over the process's kept engine when
    it gives `database`: support/kept_engine.py): with the worker's parsed catalog and
    waitlist policy when the settings name config/clinic.yaml (another clinic file: see
    `parsed_clinic`), and the worker's key ring
    (tests/conftest.py) copied into place when the test has none yet, instead of making one.

    A ring copied here is handed to build() opened: the test's database is a fresh copy of the
    migrated template, with nothing sealed in it, so the start-up check (a look at every sealed
    table over a connection of its own, ~35 ms of CPU a container) has nothing to find. It is
    tested where it matters, with the data it guards (tests/e2e/test_key_safety.py), and runs
    for a test that brings its own ring."""
    path = settings.resolved_keys_file
    keys = None
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(key_ring, path)
        keys = LiveKeyRing(path)
    if settings.config_path == CLINIC_YAML:
        policy = clinic_policy()
    else:
        catalog, policy = parsed_clinic(settings.config_path)
    return build(
        settings,
        clock=clock,
        catalog=catalog,
        http=http,
        feeds=feeds,
        policy=policy,
        keys=keys,
        database=database,
    )


def container_fixture(
    loop_scope: Literal["session"] | None = None,
) -> Callable[..., AsyncIterator[Container]]:
    """The `container` fixture: tests/conftest.py's, in the test's own event loop (None: the
    configured default), and tests/browser's, in the session's loop, where chromium's
    Playwright objects live. Either way a test's container (and its database) is its own."""

    @pytest_asyncio.fixture(loop_scope=loop_scope, name="container")
    async def container(
        settings: Settings,
        clock: Clock,
        clinic_catalog: Catalog,
        key_ring_file: Path,
        provider_http: httpx.AsyncClient | None,
        calendar_feeds: Sequence[BusyFeed] | None,
        open_database: Callable[[str], Database],
    ) -> AsyncIterator[Container]:
        """The app's container over the folder's (or module's) `settings`, closed after the
        test."""
        built = build_for_test(
            settings,
            clock=clock,
            catalog=clinic_catalog,
            key_ring=key_ring_file,
            http=provider_http,
            feeds=calendar_feeds,
            # Over the kept engine (support/kept_engine.py), unless the test echoes SQL.
            database=None if settings.sql_echo else open_database(settings.database_url),
        )
        yield built
        await built.aclose()

    return container


# Clinic files other than config/clinic.yaml, parsed, by their text: a module writes the same
# one into each test's folder (tests/integration/test_calendly_webhooks.py and others).
_parsed_clinics: dict[str, tuple[Catalog, WaitlistPolicy]] = {}


def parsed_clinic(path: Path) -> tuple[Catalog, WaitlistPolicy]:
    """The catalog and waitlist policy of the clinic file at `path`, as build() would load
    them, parsed once per process for each text (both are frozen values; a file with problems
    raises here each time, naming `path`). Parsing is ~11 ms of CPU a container."""
    text = path.read_text(encoding="utf-8")
    found = _parsed_clinics.get(text)
    if found is None:
        found = _parsed_clinics[text] = (load_catalog(path), load_policy(path))
    return found


@functools.cache
def clinic_policy() -> WaitlistPolicy:
    """config/clinic.yaml's waitlist policy, read once per process (a frozen value), as the
    worker's catalog is: each read parses the whole file."""
    return load_policy(CLINIC_YAML)


async def staff_session(
    container: Container, username: str, role: str, practitioner: str | None = None
) -> dict[str, str]:
    """A signed-in staff member's headers (non-admin roles need no second factor)."""
    await container.identity.users.create(username, role, PASSWORD, practitioner=practitioner)
    opened, _ = await container.identity.users.login(username, PASSWORD, None)
    return {"Authorization": f"Bearer {opened.token}"}


async def admin_session(container: Container, username: str = "root") -> dict[str, str]:
    """A signed-in admin's headers (admins need their authenticator code)."""
    made = await container.identity.users.create(username, "admin", PASSWORD)
    assert made.totp_uri is not None
    secret = parse_qs(urlparse(made.totp_uri).query)["secret"][0]
    code = code_at(secret, container.clock.now())
    opened, _ = await container.identity.users.login(username, PASSWORD, code)
    return {"Authorization": f"Bearer {opened.token}"}


@asynccontextmanager
async def serving(container: Container, **config: Any) -> AsyncIterator[str]:
    """The app served by a real uvicorn on a free loopback port, in this event loop."""
    options = {"log_level": "warning", "lifespan": "off"} | config
    app = uvicorn.Config(create_app(container=container), **options)
    async with running(app, loopback_socket()) as base:
        yield base
