"""Shared parts of the notifications integration tests: a real SMTP server on loopback, an
EmailSender over it, a recording SMS sender, envelopes read from the outbox, and the
context's unit of work over a real database (to put or find a registered browser)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from clinicflow.adapters.messaging.smtp_email import SmtpEmail
from clinicflow.bootstrap import Container
from clinicflow.bootstrap.notifications import Notifications, build_notifications
from clinicflow.infra.bus import Envelope
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.outbox import outbox
from clinicflow.infra.unit_of_work import Factory
from clinicflow.notifications.domain.push import Device, PushSubscription
from clinicflow.notifications.ports import SendResult
from clinicflow.notifications.repository import SqlNotificationsUnitOfWork
from clinicflow.shared.clock import Clock
from support.fake_smtp import FakeSmtpRelay

SENDER = "Riverbend <no-reply@clinic.example>"


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtpRelay]:
    relay = FakeSmtpRelay()
    relay.start()
    yield relay
    relay.stop()


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
    return Envelope(
        event_id=row.event_id,
        type=row.type,
        version=row.version,
        occurred_at=row.occurred_at,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        payload=row.payload,
        traceparent=row.traceparent,
    )


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
        await uow.push.save(patient_id, subscription, user_agent, now)
        await uow.commit()


async def browsers_of(db: Database, keys: KeyRing, patient_id: str) -> list[Device]:
    async with notification_units(db, keys).reading() as uow:
        return await uow.push.of(patient_id)
