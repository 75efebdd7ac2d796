"""Fixtures of the outbound-webhook integration tests (registered in tests/conftest.py): a
receiver on loopback, and an admin (user "root") to subscribe it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clinicflow.bootstrap import Container
from clinicflow.shared.clock import FixedClock
from support.app import admin_session
from support.fake_receiver import WebhookReceiver
from support.fake_vendor import serving


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[WebhookReceiver]:
    yield from serving(WebhookReceiver(clock.now))


@pytest.fixture
async def admin(container: Container) -> dict[str, str]:
    return await admin_session(container)
