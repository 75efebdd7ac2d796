"""Browser tests: the app served by a real uvicorn (its event bus running, so emails go out),
and Debian's chromium. CI installs chromium (.ci/run); without it these tests skip, saying so.
The settings here send email to `smtp`; the `container` over them is tests/conftest.py's.

One Playwright driver and one chromium serve all the tests of a process (a launch costs about
a second of CPU); each test opens contexts of its own (`browser.new_context()`, or
`browser.new_page()`, which makes one), with their own cookies, storage, cache and
permissions, and `browser` closes them after it. Playwright's objects belong to the event loop
that made them, so the tests here run in pytest-asyncio's session loop (each module's
`pytestmark = SESSION_LOOP`, from support/browser.py), and so do the async fixtures they use:
those declared here and in the modules with `loop_scope="session"`, still made and closed for
each test. A test, or an async fixture, that would run in another loop fails before it starts,
saying so."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from support.app import clinic_settings, container_fixture, serving
from support.browser import WorkerChromium, chromium
from support.fake_smtp import FakeSmtpRelay
from support.fake_vendor import loopback_client


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fails a test here that would run in an event loop other than chromium's, or use an
    async fixture that would (its objects bound to a loop that is not running)."""
    marker = item.get_closest_marker("asyncio")
    wrong = [] if marker and marker.kwargs.get("loop_scope") == "session" else [item.name]
    fixtures = getattr(item, "_fixtureinfo", None)
    for name, defs in fixtures.name2fixturedefs.items() if fixtures else ():
        func = defs[-1].func
        is_async = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
        if is_async and getattr(func, "_loop_scope", None) != "session":
            wrong.append(name)
    if wrong:
        pytest.fail(
            "tests/browser run in the session's event loop: mark the module "
            "`pytestmark = SESSION_LOOP` and declare its async fixtures with "
            f"@pytest_asyncio.fixture(loop_scope='session'); not so: {', '.join(wrong)}",
            pytrace=False,
        )


@pytest.fixture
def smtp(smtp_server: FakeSmtpRelay) -> FakeSmtpRelay:
    """The mail server the app sends to: support/notifications.py's, on loopback."""
    return smtp_server


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: FakeSmtpRelay) -> Settings:
    return clinic_settings(
        database_url,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
    )


container = container_fixture("session")


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """support/fake_vendor.py's client for the fakes on loopback, in the session's loop."""
    async with loopback_client() as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def site(container: Container) -> AsyncIterator[str]:
    """The base URL of the app, served on loopback with its in-process bus delivering."""
    await container.bus.start()
    async with serving(container) as base:
        yield base


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def worker_chromium() -> AsyncIterator[WorkerChromium]:
    executable = chromium()
    if executable is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); CI installs it")
    async with async_playwright() as playwright:
        launched = WorkerChromium(playwright, executable)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(worker_chromium: WorkerChromium) -> AsyncIterator[Browser]:
    """The process's chromium, with no context open; those the test opens are closed after
    it."""
    launched = await worker_chromium.browser()
    assert not launched.contexts, "a context outlived the test that opened it"
    yield launched
    for context in launched.contexts:
        await context.close()


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def own_tasks(worker_chromium: WorkerChromium) -> AsyncIterator[None]:
    """What a test's own event loop does as it closes: the tasks the test started and left
    running (none, as of writing) are cancelled after its fixtures' teardown, so nothing of
    one test's app runs on into the next. Playwright's tasks began before it."""
    await worker_chromium.browser()
    before = asyncio.all_tasks()
    yield
    left = asyncio.all_tasks() - before - {asyncio.current_task()}
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
