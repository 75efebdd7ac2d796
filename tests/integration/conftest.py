"""An app over a real, migrated database (each test its own) and an HTTP client to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from clinicflow.bootstrap import Container, build
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock

CLINIC_YAML = Path(__file__).resolve().parents[2] / "config" / "clinic.yaml"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        config_path=CLINIC_YAML,
        data_dir=tmp_path,
        keys_file=tmp_path / "keys.json",
    )


@pytest.fixture
async def container(settings: Settings, clock: FixedClock) -> AsyncIterator[Container]:
    built = build(settings, clock=clock)
    yield built
    await built.aclose()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
        yield http
