"""An app over a real, migrated database (each test its own) and an HTTP client to it: the
settings here, the `container` over them in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.settings import Settings
from support.api import app_over
from support.app import clinic_settings, serving, staff_session


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return clinic_settings(
        database_url,
        tmp_path,
    )


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with app_over(container) as http:
        yield http


@pytest.fixture
async def live_server(container: Container) -> AsyncIterator[str]:
    """The app over `container` served on a loopback port: its base URL."""
    async with serving(container) as base:
        yield base


@pytest.fixture
async def front_desk(container: Container) -> dict[str, str]:
    return await staff_session(container, "desk", "front_desk")


@pytest.fixture
async def integration(container: Container) -> dict[str, str]:
    """An API client (no session to time out) that may read and change bookings."""
    _, key = await container.identity.apikeys.create(
        "front-desk tablet", "qa", ["bookings:read", "bookings:write"]
    )
    return {"X-API-Key": key}
