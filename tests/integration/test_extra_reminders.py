"""The extra reminder for risky visits (CLINICFLOW_NO_SHOW_EXTRA_REMINDER_THRESHOLD): two
days before a visit whose cached no-show risk is above the threshold, one more reminder, over
real SMTP, by the consent rules, and once however many workers look.

The risks are written through the forecasting context's own repository (the cache the
nightly `ml predict` fills), so no model is trained here. The suite's clock stands at Tuesday
2026-11-24 09:00 CST; the visits are on Monday 30 November (CST, UTC-6).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.bootstrap.notifications import Notifications
from clinicflow.forecasting.views import Reason
from clinicflow.notifications.tables import reminders
from clinicflow.shared.clock import FixedClock
from support.fake_smtp import FakeSmtpRelay
from support.notifications import PUBLIC, book, envelope, notifications_of, rows, smtp_email
from support.risks import cache_no_show

# Scheduling races between workers rest on the reminders' unique key and row locks.
pytestmark = pytest.mark.both_databases

MON_10 = "2026-11-30T10:00:00-06:00"
MON_11 = "2026-11-30T11:00:00-06:00"
MON_1030 = "2026-11-30T10:30:00-06:00"
START = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
THRESHOLD = 0.3


def workers(
    container: Container, clock: FixedClock, smtp: FakeSmtpRelay, threshold: float | None
) -> list[Notifications]:
    """Two workers' notifications, as bootstrap wires them: the risks read from the
    forecasting context's cache."""
    return [
        notifications_of(
            container,
            clock,
            email=smtp_email(smtp.port, clock),
            public_url=PUBLIC,
            clinic_email="no-reply@clinic.example",
            risks=container.forecasting.risks,
            extra_reminder_threshold=threshold,
        )
        for _ in range(2)
    ]


async def cache_risks(container: Container, risks: dict[str, float]) -> None:
    """The no-show predictions as `clinicflow ml predict` caches them (each at START)."""
    why = (Reason("prior_no_shows", "1", 0.9),)
    await cache_no_show(container, [(b, START, score, why) for b, score in risks.items()])


async def kinds(container: Container, booking_id: str) -> list[tuple[str, datetime, str]]:
    query = select(reminders).where(reminders.c.booking_id == booking_id)
    async with container.db.read() as conn:
        found = (await conn.execute(query.order_by(reminders.c.send_at))).all()
    return [(r.kind, r.send_at, r.status) for r in found]


async def booked(
    client: httpx.AsyncClient, container: Container, worker: Notifications, **over: Any
) -> str:
    made = await book(client, **over)
    await worker.subscriber.handle(await envelope(container, "booking.created", made["id"]))
    return str(made["id"])


async def two_visits(
    client: httpx.AsyncClient, container: Container, worker: Notifications
) -> tuple[str, str]:
    """Patient 1's visit at 10:00 and patient 2's at 11:00 on Monday, booked and heard."""
    return (
        await booked(client, container, worker, start=MON_10),
        await booked(client, container, worker, start=MON_11, n=2),
    )


@pytest.fixture
def at_threshold(
    container: Container, clock: FixedClock, smtp_server: FakeSmtpRelay
) -> list[Notifications]:
    """Two workers that send the extra reminder above THRESHOLD."""
    return workers(container, clock, smtp_server, THRESHOLD)


async def test_a_risky_visit_gets_one_extra_reminder_two_days_before_by_consent(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    smtp_server: FakeSmtpRelay,
    front_desk: dict[str, str],
    at_threshold: list[Notifications],
) -> None:
    one, two = at_threshold
    risky, calm = await two_visits(client, container, one)
    made = await book(client, start=MON_1030, n=3)
    resp = await client.patch(
        f"/v1/patients/{made['patient_id']}",
        json={"contact_prefs": {"email": False}},
        headers=front_desk,
    )
    assert resp.status_code == 200, resp.text
    await one.subscriber.handle(await envelope(container, "booking.created", made["id"]))
    withdrawn = str(made["id"])
    await cache_risks(container, {risky: 0.62, calm: 0.08, withdrawn: 0.55})
    confirmations = len(smtp_server.messages())
    assert confirmations == 2  # the third patient withdrew email consent

    assert one.extra_reminders is not None
    assert two.extra_reminders is not None
    # Six days ahead: not yet (scheduled an hour before it is due, on the latest risk).
    assert await one.extra_reminders.schedule(clock.now()) == 0

    clock.set(START - timedelta(hours=48, minutes=30))
    await asyncio.gather(
        one.extra_reminders.schedule(clock.now()), two.extra_reminders.schedule(clock.now())
    )
    await one.extra_reminders.schedule(clock.now())  # a later poll: nothing new
    two_days = START - timedelta(hours=48)
    assert await kinds(container, risky) == [
        ("2d", two_days, "scheduled"),
        ("24h", START - timedelta(hours=24), "scheduled"),
        ("2h", START - timedelta(hours=2), "scheduled"),
    ]
    assert [k for k, _, _ in await kinds(container, calm)] == ["24h", "2h"]
    assert await one.reminders.send_due(clock.now()) == 0  # not due for half an hour

    clock.set(two_days + timedelta(minutes=31))  # both visits' (10:00 and 10:30)
    sent = await asyncio.gather(
        one.reminders.send_due(clock.now()), two.reminders.send_due(clock.now())
    )
    assert sum(sent) == 2  # the risky visit's, and the one whose patient withdrew email
    assert await one.reminders.send_due(clock.now()) == 0
    mails = smtp_server.messages()[confirmations:]
    assert [(m["To"], m["Subject"].split(":")[0]) for m in mails] == [
        ("pat1@example.com", "Reminder")
    ]
    text = mails[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Monday 30 November 2026 at 10:00 (CST)" in text
    [skipped] = await rows(container, booking_id=withdrawn, template="reminder.email")
    assert (skipped.status, skipped.reason) == ("skipped", "no consent")
    assert await rows(container, booking_id=calm, template="reminder.email") == []


async def test_a_visit_cancelled_or_moved_close_gets_no_extra_reminder(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    front_desk: dict[str, str],
    at_threshold: list[Notifications],
) -> None:
    one, _ = at_threshold
    cancelled, late = await two_visits(client, container, one)
    await cache_risks(container, {cancelled: 0.7, late: 0.7})
    resp = await client.post(f"/v1/bookings/{cancelled}/cancel", headers=front_desk)
    assert resp.status_code == 200, resp.text
    # The risk became known only 25 hours before the visit: the usual reminders suffice.
    clock.set(START - timedelta(hours=25))
    assert one.extra_reminders is not None
    assert await one.extra_reminders.schedule(clock.now()) == 0
    clock.set(START - timedelta(hours=48, minutes=30))
    assert await one.extra_reminders.schedule(clock.now()) == 1  # `late` only
    assert "2d" not in [k for k, _, _ in await kinds(container, cancelled)]


async def test_a_threshold_unset_or_above_every_risk_sends_no_extra_reminder(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    smtp_server: FakeSmtpRelay,
) -> None:
    off, _ = workers(container, clock, smtp_server, None)
    assert off.extra_reminders is None
    assert "extra_reminders" not in [job.name for job in container.jobs.jobs]
    high, _ = workers(container, clock, smtp_server, 0.9)
    risky = await booked(client, container, high, start=MON_10)
    await cache_risks(container, {risky: 0.62})
    clock.set(START - timedelta(hours=48, minutes=30))
    assert high.extra_reminders is not None
    assert await high.extra_reminders.schedule(clock.now()) == 0
    assert [k for k, _, _ in await kinds(container, risky)] == ["24h", "2h"]
