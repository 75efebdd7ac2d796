"""The fake Graph on loopback as a fixture, the Graph adapter wired to it, and the change-
notification route served by a real uvicorn (Graph's handshake and notifications are real
HTTP posts from the fake's thread). No tests here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from clinicflow.adapters.calendars.microsoft import GraphApp, GraphClient, MicrosoftCalendar
from clinicflow.calendars.subscriptions.api import router
from clinicflow.calendars.subscriptions.service import ChangeNotifications
from clinicflow.gateway import problems
from clinicflow.infra.web import Provided
from clinicflow.shared.clock import FixedClock
from support.fake_graph import CLIENT_ID, CLIENT_SECRET, TENANT, FakeGraph
from support.uvicorn_server import loopback_socket, running

MAILBOXES = {
    "doctor1": "elena.marsh@clinic.example",
    "doctor2": "samuel.okafor@clinic.example",
    "nurse": "grace.lindqvist@clinic.example",
}
SECRET = "notification-secret-0123456789"
SERVICES = {"acupuncture": "Acupuncture", "weight_loss": "Weight loss"}


class Sleeps:
    """Stands in for asyncio.sleep: records the waits asked for, waits for none."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def graph_server(clock: FixedClock) -> Iterator[FakeGraph]:
    server = FakeGraph()
    server.now = clock.now()
    for mailbox in MAILBOXES.values():
        server.mailbox(mailbox)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def graph_client(
    fake: FakeGraph,
    http: httpx.AsyncClient,
    clock: FixedClock,
    sleeps: Sleeps,
    *,
    secret: str = CLIENT_SECRET,
    max_retry_wait: float = 30.0,
) -> GraphClient:
    app = GraphApp(TENANT, CLIENT_ID, secret, fake.login_url, fake.graph_url)
    return GraphClient(http, app, clock, max_retry_wait=max_retry_wait, sleep=sleeps)


def calendar_on(
    fake: FakeGraph,
    http: httpx.AsyncClient,
    clock: FixedClock,
    sleeps: Sleeps,
    *,
    mailboxes: dict[str, str] | None = None,
    notification_url: str | None = None,
    live_timeout: float = 1.5,
    max_retry_wait: float = 30.0,
) -> MicrosoftCalendar:
    return MicrosoftCalendar(
        graph_client(fake, http, clock, sleeps, max_retry_wait=max_retry_wait),
        MAILBOXES if mailboxes is None else mailboxes,
        clock,
        service_names=SERVICES,
        notification_secret=SECRET,
        notification_url=notification_url or "https://clinic.example/v1/webhooks/microsoft",
        renew_before=timedelta(hours=12),
        live_timeout=live_timeout,
    )


class Triggered:
    """The sync trigger the route calls: records (source, practitioner)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, source: str, practitioner: str) -> None:
        self.calls.append((source, practitioner))


@asynccontextmanager
async def notification_route(
    notifications: ChangeNotifications, clock: FixedClock
) -> AsyncIterator[str]:
    """POST /v1/webhooks/microsoft served by uvicorn on a free port, in this event loop; yields
    the route's URL."""
    app = FastAPI()
    provided = Provided(clock=lambda: clock)
    provided.add(ChangeNotifications)(lambda: notifications)
    app.state.provided = provided
    problems.install(app)
    app.include_router(router)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    async with running(config, loopback_socket()) as base:
        yield f"{base}/v1/webhooks/microsoft"
