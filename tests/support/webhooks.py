"""Fixtures of the outbound-webhook integration tests (registered in tests/conftest.py): a
receiver on loopback, an admin (user "root") to subscribe it, and the two with the client,
container and clock as one scene (`hooks`) with the steps those tests take over the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.shared.clock import FixedClock
from support.api import book
from support.app import admin_session
from support.fake_receiver import WebhookReceiver
from support.fake_vendor import serving

Json = dict[str, Any]


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[WebhookReceiver]:
    yield from serving(WebhookReceiver(clock.now))


@pytest.fixture
async def admin(container: Container) -> dict[str, str]:
    return await admin_session(container)


@dataclass
class WebhookScene:
    """The app over the API, its container and clock, an admin's headers (replaced when the
    admin signs in again) and the receiver on loopback."""

    client: httpx.AsyncClient
    container: Container
    clock: FixedClock
    admin: dict[str, str]
    receiver: WebhookReceiver

    async def subscribe(self, types: list[str], url: str | None = None) -> Json:
        resp = await self.client.post(
            "/v1/webhooks/subscriptions",
            json={"url": url or self.receiver.url, "event_types": types, "description": "CRM"},
            headers=self.admin,
        )
        assert resp.status_code == 201, resp.text
        made: Json = resp.json()
        return made

    async def book(self, **over: Any) -> Json:
        return await book(self.client, **over)

    async def deliveries(self, **params: str) -> list[Json]:
        resp = await self.client.get("/v1/webhooks/deliveries", params=params, headers=self.admin)
        assert resp.status_code == 200, resp.text
        found: list[Json] = resp.json()["deliveries"]
        return found

    async def send_due(self, later: timedelta = timedelta(0)) -> int:
        """The webhooks' sender, as its worker runs it, at the clock's time (or `later`)."""
        return await self.container.webhooks.sender.send_due(self.clock.now() + later)


@pytest.fixture
def hooks(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    admin: dict[str, str],
    receiver: WebhookReceiver,
) -> WebhookScene:
    return WebhookScene(client, container, clock, admin, receiver)
