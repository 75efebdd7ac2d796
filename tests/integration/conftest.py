"""An app over a real, migrated database (each test its own) and an HTTP client to it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import uvicorn

from clinicflow.bootstrap import Container, build
from clinicflow.gateway.app import create_app
from clinicflow.identity.totp import code_at
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


PASSWORD = "correct horse battery staple"


async def staff_session(
    container: Container, username: str, role: str, practitioner: str | None = None
) -> dict[str, str]:
    """A signed-in staff member's headers (non-admin roles need no second factor)."""
    await container.users.create(username, role, PASSWORD, practitioner=practitioner)
    opened, _ = await container.users.login(username, PASSWORD, None)
    return {"Authorization": f"Bearer {opened.token}"}


async def admin_session(container: Container, username: str = "root") -> dict[str, str]:
    """A signed-in admin's headers (admins need their authenticator code)."""
    made = await container.users.create(username, "admin", PASSWORD)
    assert made.totp_uri is not None
    secret = parse_qs(urlparse(made.totp_uri).query)["secret"][0]
    code = code_at(secret, container.clock.now())
    opened, _ = await container.users.login(username, PASSWORD, code)
    return {"Authorization": f"Bearer {opened.token}"}


@pytest.fixture
async def front_desk(container: Container) -> dict[str, str]:
    return await staff_session(container, "desk", "front_desk")


@pytest.fixture
async def integration(container: Container) -> dict[str, str]:
    """An API client (no session to time out) that may read and change bookings."""
    _, key = await container.apikeys.create(
        "front-desk tablet", "qa", ["bookings:read", "bookings:write"]
    )
    return {"X-API-Key": key}


@asynccontextmanager
async def serving(container: Container, **config: Any) -> AsyncIterator[str]:
    """The app served by a real uvicorn on a free loopback port, in this event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = {"log_level": "warning", "lifespan": "off"} | config
    server = uvicorn.Server(uvicorn.Config(create_app(container=container), **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no start event)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
