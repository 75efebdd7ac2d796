"""Microsoft 365 wired into the whole app from Settings and clinic.yaml, against the fake Graph:
subscriptions made through the real gateway (Graph's handshake reaches the route with no
credentials, as text/plain), a notification accepted, and a booking made through the API
written into the practitioner's calendar by the bus, without patient data. Unconfigured,
the route says so."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import MappingProxyType

import httpx
import uvicorn
from pydantic import SecretStr

from clinicflow.bootstrap import Container, build
from clinicflow.catalog import Catalog
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem, booking
from support.fake_graph import CLIENT_ID, CLIENT_SECRET, TENANT, FakeGraph
from support.loopback_tls import loopback_tls

ELENA = "elena.marsh@clinic.example"


@asynccontextmanager
async def served(
    settings: Settings, clock: FixedClock, catalog: Catalog, key_ring: Path
) -> AsyncIterator[tuple[Container, str]]:
    """The app on a port chosen before it is built (its public_url names it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = settings.model_copy(update={"public_url": url})
    settings.resolved_keys_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(key_ring, settings.resolved_keys_file)
    container = build(settings, clock=clock, catalog=catalog)
    server = uvicorn.Server(
        uvicorn.Config(create_app(container=container), log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no start event)
        await asyncio.sleep(0.01)
    try:
        yield container, url
    finally:
        server.should_exit = True
        await task
        await container.aclose()


def with_mailbox(catalog: Catalog) -> Catalog:
    practitioners = dict(catalog.practitioners)
    practitioners["doctor1"] = dataclasses.replace(
        practitioners["doctor1"], microsoft_mailbox=ELENA
    )
    return dataclasses.replace(catalog, practitioners=MappingProxyType(practitioners))


async def test_a_configured_clinic_subscribes_and_writes_bookings_back(
    settings: Settings,
    clock: FixedClock,
    clinic_catalog: Catalog,
    key_ring_file: Path,
    graph_server: FakeGraph,
) -> None:
    fake = graph_server
    fake.mailbox(ELENA)
    settings = settings.model_copy(
        update={
            "microsoft_tenant_id": TENANT,
            "microsoft_client_id": CLIENT_ID,
            "microsoft_client_secret": SecretStr(CLIENT_SECRET),
            "microsoft_login_url": fake.login_url,
            "microsoft_graph_url": fake.graph_url,
            "microsoft_notification_secret": SecretStr("a-notification-secret"),
        }
    )
    catalog = with_mailbox(clinic_catalog)
    async with served(settings, clock, catalog, key_ring_file) as (container, url):
        calendar = container.microsoft.calendar
        assert calendar is not None
        assert [j.name for j in container.microsoft.jobs()] == ["microsoft_subscriptions"]
        assert await calendar.keep_subscriptions(clock.now()) == 1
        assert fake.handshakes == [200]
        [subscription] = fake.subscriptions.values()
        assert subscription["notificationUrl"] == f"{url}/v1/webhooks/microsoft"
        assert await asyncio.to_thread(fake.notify, ELENA, "created", "AAMk1") == 202

        # Until Microsoft 365 has been read once, doctor1's times are unconfirmed (not
        # offered): the first sync, as the poll job would run it.
        await container.calendars.service.sync("microsoft", full=True)
        async with httpx.AsyncClient(
            base_url=url, trust_env=False, verify=loopback_tls()
        ) as client:
            made = await client.post("/v1/bookings", json=booking())
            assert made.status_code == 201, made.text
            await container.bus.run_once()

    [event] = fake.events(ELENA)
    assert event["transactionId"] == made.json()["id"]
    assert event["subject"] == "clinicflow visit: Alternative medicine"
    assert "Pat1" not in str(fake.mailbox(ELENA).events)


async def test_unconfigured_the_route_says_notifications_are_off(client: httpx.AsyncClient) -> None:
    handshake = await client.post(
        "/v1/webhooks/microsoft",
        params={"validationToken": "abc"},
        content=b"",
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(handshake, 404, "calendar_notifications_off")
    notification = await client.post("/v1/webhooks/microsoft", json={"value": []})
    assert_problem(notification, 404, "calendar_notifications_off")
