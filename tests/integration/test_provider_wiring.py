"""Which providers the app sends by, from Settings alone (bootstrap → compose_providers):
SendGrid falling back to a real SMTP server on loopback while it is down, with retries and a
circuit breaker around it; SMTP alone; nothing (every email written to the local mailbox)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.gateway.app import create_app
from clinicflow.notifications.tables import messages
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import booking
from support.fake_sendgrid import API_KEY, FakeSendGrid
from support.fake_smtp import FakeSmtpRelay
from support.fake_vendor import serving
from support.notifications import Opened, envelope

ATTEMPTS = 3  # Settings.provider_retry_attempts' default
SLOTS = {1: "10:00", 2: "10:30", 3: "11:00"}  # Wednesday, in the clinic's zone


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    yield from serving(FakeSendGrid())


def with_providers(settings: Settings, **values: Any) -> Settings:
    # Validated again (model_copy would not turn a key into a SecretStr); no backoff waits.
    return Settings(**{**settings.model_dump(), "provider_retry_wait_seconds": 0, **values})


@pytest.fixture
def both(settings: Settings, sendgrid: FakeSendGrid, smtp_server: FakeSmtpRelay) -> Settings:
    return with_providers(
        settings,
        sendgrid_api_key=API_KEY,
        sendgrid_base_url=sendgrid.url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
    )


@pytest.fixture
def wired(both: Settings, clock: FixedClock, opened: Opened) -> Container:
    """The app started with both SendGrid and SMTP configured."""
    return opened.start(both, clock)


async def confirm(container: Container, n: int) -> Any:
    """Book patient n (a new patient each time) and send the confirmation: its email row."""
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as client:
        start_at = f"2026-11-25T{SLOTS[n]}:00-06:00"
        resp = await client.post("/v1/bookings", json=booking(start_at, n=n))
    assert resp.status_code == 201, resp.text
    booking_id = resp.json()["id"]
    await container.notifications.subscriber.handle(
        await envelope(container, "booking.created", booking_id)
    )
    query = select(messages).where(
        messages.c.booking_id == booking_id, messages.c.template == "confirmation.email"
    )
    async with container.db.read() as conn:
        return (await conn.execute(query)).one()


async def test_with_sendgrid_down_the_confirmation_goes_by_smtp(
    wired: Container, sendgrid: FakeSendGrid, smtp_server: FakeSmtpRelay
) -> None:
    sendgrid.failing = 503
    row = await confirm(wired, 1)
    assert (row.status, row.provider) == ("sent", "smtp")
    [mail] = smtp_server.messages()
    assert mail["To"] == "pat1@example.com"
    assert sendgrid.requests == ATTEMPTS  # retried before falling back
    assert sendgrid.messages == []


async def test_an_open_circuit_skips_sendgrid_until_it_may_be_tried_again(
    wired: Container, sendgrid: FakeSendGrid, smtp_server: FakeSmtpRelay
) -> None:
    sendgrid.failing = 503
    for n in (1, 2, 3):
        assert (await confirm(wired, n)).provider == "smtp"
    # Five outages in a row open the circuit (the second message's second attempt), after
    # which SendGrid is not called at all: the third message went straight to SMTP.
    assert sendgrid.requests == 5
    assert len(smtp_server.envelopes) == 3


async def test_with_sendgrid_up_the_confirmation_goes_by_sendgrid(
    wired: Container, sendgrid: FakeSendGrid, smtp_server: FakeSmtpRelay
) -> None:
    sendgrid.answers = [503]  # one outage, then up: a retry, not a fallback
    row = await confirm(wired, 1)
    assert (row.status, row.provider) == ("sent", "sendgrid")
    [sent] = sendgrid.messages
    assert row.provider_id == sent["id"]
    assert sent["personalizations"][0]["to"] == [{"email": "pat1@example.com"}]
    assert smtp_server.envelopes == []


async def test_smtp_alone_sends_by_smtp(
    settings: Settings, clock: FixedClock, opened: Opened, smtp_server: FakeSmtpRelay
) -> None:
    only_smtp = with_providers(settings, smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    row = await confirm(opened.start(only_smtp, clock), 1)
    assert (row.status, row.provider) == ("sent", "smtp")
    assert len(smtp_server.envelopes) == 1


async def test_sendgrid_alone_down_leaves_the_email_failed_for_a_retry(
    settings: Settings, clock: FixedClock, opened: Opened, sendgrid: FakeSendGrid
) -> None:
    only = with_providers(settings, sendgrid_api_key=API_KEY, sendgrid_base_url=sendgrid.url)
    sendgrid.failing = 503
    with pytest.raises(Exception, match="not sent"):
        await confirm(opened.start(only, clock), 1)
    container = opened[0]
    async with container.db.read() as conn:
        row = (await conn.execute(select(messages).where(messages.c.channel == "email"))).one()
    assert row.status == "failed"
    assert row.reason == "ProviderUnavailable: answered 503"
    assert sendgrid.requests == ATTEMPTS


async def test_with_no_provider_emails_go_to_the_local_mailbox(
    settings: Settings, clock: FixedClock, opened: Opened
) -> None:
    row = await confirm(opened.start(with_providers(settings), clock), 1)
    assert (row.status, row.channel, row.provider) == ("delivered", "email", "mailbox")
    [eml] = (settings.data_dir / "mailbox").glob("*.eml")
    assert row.provider_id in eml.read_text()  # the Message-ID of the file written
