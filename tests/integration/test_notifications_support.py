"""Shared parts of the notifications integration tests: a real SMTP server on loopback, an
EmailSender over it, a recording SMS sender, and envelopes read from the outbox."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.bus import Envelope
from clinicflow.infra.outbox import outbox
from clinicflow.notifications.channels import compose
from clinicflow.notifications.ports import Attachment, SendResult
from clinicflow.shared.clock import Clock

SENDER = "Riverbend <no-reply@clinic.example>"


class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        out = []
        for e in self.envelopes:
            parsed = message_from_bytes(e.original_content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            out.append(parsed)
        return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Collector]]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, collector
    controller.stop()


class SmtpEmail:
    """An EmailSender speaking real SMTP (the test's stand-in for the SMTP adapter)."""

    def __init__(self, port: int, clock: Clock) -> None:
        self._port = port
        self._clock = clock

    async def send_email(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> SendResult:
        message = compose(SENDER, to, subject, text, self._clock.now(), html, attachments)
        await aiosmtplib.send(message, hostname="127.0.0.1", port=self._port, timeout=5)
        return SendResult(provider="smtp", provider_id=None, status="accepted")


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
