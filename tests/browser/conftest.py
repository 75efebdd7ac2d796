"""Browser tests: the app served by a real uvicorn (its event bus running, so emails go out),
and Debian's chromium. CI installs chromium (.ci/run); without it these tests skip, saying so.
The settings here send email to `smtp`; the `container` over them is tests/conftest.py's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from support.app import clinic_settings, serving
from support.browser import CHROMIUM_ARGS, chromium
from support.fake_smtp import FakeSmtpRelay


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


@pytest.fixture
async def site(container: Container) -> AsyncIterator[str]:
    """The base URL of the app, served on loopback with its in-process bus delivering."""
    await container.bus.start()
    async with serving(container) as base:
        yield base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()
    if executable is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); CI installs it")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
