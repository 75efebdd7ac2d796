"""A message is claimed (`sending`) before its provider call. A worker that died holding the
claim leaves it to the timeout: until then a redelivered event sends nothing (the worker may
still be in the provider call); after it, the recovery job sends the message with the
Message-ID derived from its row, the one the first attempt used. A completed send is never
repeated, by redelivery or by recovery. Real SMTP server on loopback, both databases."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.bootstrap.notifications import Notifications
from clinicflow.notifications.ports import Email
from clinicflow.shared.clock import FixedClock
from support.fake_smtp import FakeSmtpRelay
from support.notifications import book, envelope, notifications_of, rows, smtp_email

pytestmark = pytest.mark.both_databases

TIMEOUT = timedelta(minutes=5)


def wired(container: Container, clock: FixedClock, smtp: FakeSmtpRelay) -> Notifications:
    return notifications_of(
        container,
        clock,
        email=smtp_email(smtp.port, clock),
        public_url="https://clinic.example",
        clinic_email="no-reply@clinic.example",
        sending_timeout=TIMEOUT,
    )


async def test_a_claim_left_by_a_dead_worker_is_sent_once_after_the_timeout(
    client: httpx.AsyncClient, container: Container, clock: FixedClock, smtp_server: FakeSmtpRelay
) -> None:
    notifications = wired(container, clock, smtp_server)
    made = await book(client)
    event = await envelope(container, "booking.created", made["id"])
    # The first worker planned the messages and claimed the email, then died in the call.
    crashed = Crashing()
    with pytest.raises(Died):
        await wired_with(container, clock, crashed).subscriber.handle(event)
    [email] = await rows(container, booking_id=made["id"], channel="email")
    assert email.status == "sending"

    await notifications.subscriber.handle(event)  # redelivered while the claim is fresh
    assert smtp_server.envelopes == []
    assert await notifications.recovery.resume(clock.now()) == 0

    clock.advance(TIMEOUT + timedelta(seconds=1))
    assert await notifications.recovery.resume(clock.now()) == 1
    [mail] = smtp_server.messages()
    assert mail["Message-ID"] == f"<{email.id}@clinic.example>" == crashed.message_ids[0]
    [email] = await rows(container, booking_id=made["id"], channel="email")
    assert (email.status, email.provider) == ("sent", "smtp")

    clock.advance(TIMEOUT * 2)
    await notifications.subscriber.handle(event)
    assert await notifications.recovery.resume(clock.now()) == 0
    assert len(smtp_server.envelopes) == 1  # the completed send is not repeated


class Died(BaseException):
    """The worker's process ending in the provider call (not an error the code handles)."""


class Crashing:
    """An email provider during which the worker dies: it sees the message, then the
    process is gone before any answer."""

    def __init__(self) -> None:
        self.message_ids: list[str | None] = []

    async def send_email(self, email: Email) -> None:
        self.message_ids.append(email.message_id)
        raise Died


def wired_with(container: Container, clock: FixedClock, email: Crashing) -> Notifications:
    return notifications_of(
        container,
        clock,
        email=email,
        public_url="https://clinic.example",
        clinic_email="no-reply@clinic.example",
        sending_timeout=TIMEOUT,
    )
