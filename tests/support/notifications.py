"""Shared parts of the notifications integration tests: a real SMTP server on loopback, an
EmailSender over it, a recording SMS sender, the context wired to both over the test's
container (fixtures, registered in tests/conftest.py), envelopes read from the outbox,
the messages table's rows, and the context's unit of work over a real database (to put or
find a registered browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.adapters.messaging.smtp_email import SmtpEmail
from clinicflow.bootstrap import Container, build
from clinicflow.bootstrap.notifications import Notifications, build_notifications
from clinicflow.gateway.app import create_app
from clinicflow.infra.bus import Envelope
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import outbox
from clinicflow.infra.relay import published_from_row
from clinicflow.infra.unit_of_work import Factory
from clinicflow.notifications.domain.push import Device, PushSubscription, Registration
from clinicflow.notifications.messages.api import router
from clinicflow.notifications.ports import SendResult
from clinicflow.notifications.repository import SqlNotificationsUnitOfWork
from clinicflow.notifications.tables import messages
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock, FixedClock
from support.api import book as book  # re-exported: the tests that book through this module
from support.fake_smtp import FakeSmtpRelay
from support.fake_vendor import serving

SENDER = "Riverbend <no-reply@clinic.example>"
PUBLIC = "https://clinic.example"


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtpRelay]:
    yield from serving(FakeSmtpRelay())


def smtp_email(port: int, clock: Clock) -> SmtpEmail:
    """The production SMTP adapter, pointed at the loopback server."""
    return SmtpEmail("127.0.0.1", port, SENDER, timeout=5, clock=clock)


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_sms(
        self, to_e164: str, body: str, status_callback: str | None = None
    ) -> SendResult:
        self.sent.append((to_e164, body))
        return SendResult(provider="fake", provider_id=f"SM{len(self.sent)}", status="queued")


@pytest.fixture
def sms() -> FakeSms:
    return FakeSms()


@pytest.fixture
def notifications(
    container: Container,
    clock: FixedClock,
    smtp_server: FakeSmtpRelay,
    sms: FakeSms,
) -> Notifications:
    """The context over the test's container: email to `smtp_server`, SMS to `sms`, links to
    PUBLIC."""
    built = notifications_of(
        container,
        clock,
        email=smtp_email(smtp_server.port, clock),
        sms=sms,
        public_url=PUBLIC,
        clinic_email="no-reply@clinic.example",
    )
    container.notifications = built  # type: ignore[attr-defined]
    return built


@pytest.fixture
async def app_client(
    container: Container, notifications: Notifications
) -> AsyncIterator[httpx.AsyncClient]:
    """A client to the app with the notifications routes, over `notifications`."""
    app = create_app(container=container)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
        yield http


@dataclass(frozen=True)
class NotifyScene:
    """The app over the API and its container, the notifications context over them (email to
    the SMTP server, SMS to the fake), and the front desk's headers."""

    client: httpx.AsyncClient
    container: Container
    notifications: Notifications
    smtp_server: FakeSmtpRelay
    sms: FakeSms
    desk: dict[str, str]

    async def book(self, **over: Any) -> dict[str, Any]:
        return await book(self.client, **over)

    async def hear(self, type_: str, booking_id: str) -> None:
        """The subscriber handed the booking's event as the relay would deliver it."""
        await self.notifications.subscriber.handle(
            await envelope(self.container, type_, booking_id)
        )

    async def rows(self, **where: str) -> list[Any]:
        return await rows(self.container, **where)


@pytest.fixture
def notify(
    client: httpx.AsyncClient,
    container: Container,
    notifications: Notifications,
    smtp_server: FakeSmtpRelay,
    sms: FakeSms,
    front_desk: dict[str, str],
) -> NotifyScene:
    return NotifyScene(client, container, notifications, smtp_server, sms, front_desk)


class Opened(list[Container]):
    """Containers a test builds with `start`, each with an HTTP client of its own."""

    def start(self, settings: Settings, clock: FixedClock) -> Container:
        # trust_env=False: a proxy configured on the machine must not intercept loopback traffic.
        container = build(settings, clock=clock, http=httpx.AsyncClient(trust_env=False, timeout=5))
        self.append(container)
        return container


@pytest.fixture
async def opened() -> AsyncIterator[Opened]:
    """The containers the test builds (`opened.start(settings, clock)`), closed after it."""
    started = Opened()
    yield started
    for container in started:
        await container.aclose()


async def rows(container: Container, **where: str) -> list[Any]:
    """The messages table's rows (ordered by template), where each column equals its value."""
    query = select(messages).order_by(messages.c.template)
    for column, value in where.items():
        query = query.where(messages.c[column] == value)
    async with container.db.read() as conn:
        return list((await conn.execute(query)).all())


async def envelope(container: Container, type_: str, booking_id: str) -> Envelope:
    """The event as the relay would deliver it, read from the outbox."""
    async with container.db.read() as conn:
        query = (
            select(outbox)
            .where(outbox.c.type == type_, outbox.c.aggregate_id == booking_id)
            .order_by(outbox.c.id.desc())
        )
        row = (await conn.execute(query)).first()
    assert row is not None, f"no {type_} event for {booking_id}"
    return published_from_row(row._mapping).event


def notifications_of(container: Container, clock: Clock, **options: Any) -> Notifications:
    """`build_notifications` over the test container's database, catalog, keys and trail;
    `options` are build_notifications' own (email, sms, public_url …)."""
    return build_notifications(
        db=container.db,
        clock=clock,
        catalog=container.catalog,
        keys=container.keys,
        trail=container.trail,
        **options,
    )


def notification_units(db: Database, keys: KeyRing) -> Factory[SqlNotificationsUnitOfWork]:
    """The notifications context's units of work, as bootstrap builds them."""
    return Factory(db, partial(SqlNotificationsUnitOfWork, keys=keys))


async def save_browser(
    db: Database,
    keys: KeyRing,
    patient_id: str,
    subscription: PushSubscription,
    now: datetime,
    user_agent: str | None = None,
) -> None:
    async with notification_units(db, keys)() as uow:
        await uow.push.save(Registration(patient_id, subscription, user_agent), now)
        await uow.commit()


async def browsers_of(db: Database, keys: KeyRing, patient_id: str) -> list[Device]:
    async with notification_units(db, keys).reading() as uow:
        return await uow.push.of(patient_id)
