"""Reminders: scheduled as rows on booking, judged again against the booking at send time.

Booked for Wednesday 2026-11-25 10:00 CST (16:00 UTC) at Tuesday 09:00 CST: the 24 h reminder
is due Tuesday 10:00, the 2 h one Wednesday 08:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container, build
from clinicflow.bootstrap.notifications import Notifications
from clinicflow.gateway.app import create_app
from clinicflow.notifications.tables import reminders
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.fake_smtp import FakeSmtpRelay
from support.notifications import book, envelope, rows

# Due reminders are found by time comparisons in SQL.
pytestmark = pytest.mark.both_databases

START = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
WED_11 = "2026-11-25T11:00:00-06:00"
NEW_START = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


async def reminder_rows(container: Container, booking_id: str) -> list[Any]:
    query = (
        select(reminders)
        .where(reminders.c.booking_id == booking_id)
        .order_by(reminders.c.booking_start_at, reminders.c.send_at)
    )
    async with container.db.read() as conn:
        return list((await conn.execute(query)).all())


async def booked(
    client: httpx.AsyncClient, container: Container, notifications: Notifications
) -> dict[str, Any]:
    made = await book(client)
    await notifications.subscriber.handle(await envelope(container, "booking.created", made["id"]))
    return made


async def test_booking_schedules_24h_and_2h_reminders_once(
    client: httpx.AsyncClient, container: Container, notifications: Notifications
) -> None:
    made = await booked(client, container, notifications)
    await notifications.subscriber.handle(await envelope(container, "booking.created", made["id"]))
    found = await reminder_rows(container, made["id"])
    assert [(r.kind, r.send_at, r.status) for r in found] == [
        ("24h", START - timedelta(hours=24), "scheduled"),
        ("2h", START - timedelta(hours=2), "scheduled"),
    ]
    assert all(r.booking_start_at == START for r in found)


async def test_due_reminder_is_sent_at_its_time_and_only_once(
    client: httpx.AsyncClient,
    container: Container,
    notifications: Notifications,
    clock: FixedClock,
    smtp_server: FakeSmtpRelay,
) -> None:
    made = await booked(client, container, notifications)
    assert await notifications.reminders.send_due(clock.now()) == 0
    clock.advance(timedelta(hours=1))
    assert await notifications.reminders.send_due(clock.now()) == 1
    assert await notifications.reminders.send_due(clock.now()) == 0
    mails = smtp_server.messages()
    assert len(mails) == 2  # the confirmation, then the 24 h reminder
    assert mails[1]["Subject"].startswith("Reminder: your visit at Riverbend Wellness Clinic")
    statuses = [r.status for r in await reminder_rows(container, made["id"])]
    assert statuses == ["sent", "scheduled"]
    [row] = await rows(container, booking_id=made["id"], template="reminder.email")
    assert row.status == "sent"


async def test_a_booking_cancelled_before_the_reminder_is_never_reminded(
    client: httpx.AsyncClient,
    container: Container,
    notifications: Notifications,
    clock: FixedClock,
    smtp_server: FakeSmtpRelay,
    front_desk: dict[str, str],
) -> None:
    made = await booked(client, container, notifications)
    resp = await client.post(f"/v1/bookings/{made['id']}/cancel", headers=front_desk)
    assert resp.status_code == 200, resp.text
    # The cancellation event has not reached notifications yet: the reminder still sees it.
    clock.advance(timedelta(hours=2))
    assert await notifications.reminders.send_due(clock.now()) == 0
    first, second = await reminder_rows(container, made["id"])
    assert (first.status, first.reason) == ("skipped", "booking cancelled")

    await notifications.subscriber.handle(
        await envelope(container, "booking.cancelled", made["id"])
    )
    assert second.status == "scheduled"
    assert [r.status for r in await reminder_rows(container, made["id"])] == [
        "skipped",
        "cancelled",
    ]
    clock.set(START)
    assert await notifications.reminders.send_due(clock.now()) == 0
    assert [m["Subject"].split()[0] for m in smtp_server.messages()] == ["Your", "Your"]
    assert await rows(container, booking_id=made["id"], template="reminder.email") == []


async def test_a_rescheduled_booking_is_reminded_at_the_new_time_only(
    client: httpx.AsyncClient,
    container: Container,
    notifications: Notifications,
    clock: FixedClock,
    front_desk: dict[str, str],
) -> None:
    made = await booked(client, container, notifications)
    resp = await client.post(
        f"/v1/bookings/{made['id']}/reschedule", json={"start": WED_11}, headers=front_desk
    )
    assert resp.status_code == 200, resp.text
    event = await envelope(container, "booking.rescheduled", made["id"])
    await notifications.subscriber.handle(event)
    await notifications.subscriber.handle(event)  # redelivered: changes nothing

    found = await reminder_rows(container, made["id"])
    assert [(r.kind, r.booking_start_at, r.status) for r in found] == [
        ("24h", START, "cancelled"),
        ("2h", START, "cancelled"),
        ("24h", NEW_START, "scheduled"),
        ("2h", NEW_START, "scheduled"),
    ]
    clock.set(START - timedelta(hours=24))  # the old 24 h time: nothing goes
    assert await notifications.reminders.send_due(clock.now()) == 0
    clock.set(NEW_START - timedelta(hours=24))
    assert await notifications.reminders.send_due(clock.now()) == 1
    [row] = await rows(container, booking_id=made["id"], template="reminder.email")
    assert row.facts["start"] == NEW_START.isoformat()
    [moved] = await rows(container, booking_id=made["id"], template="rescheduled.email")
    assert moved.status == "sent"


async def test_reminders_survive_a_restart_and_are_sent_by_the_timer(
    settings: Settings, clock: FixedClock, smtp_server: FakeSmtpRelay
) -> None:
    """One process books and schedules; it goes away; a fresh one's timer sends the reminder."""
    settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port})
    first = build(settings, clock=clock)
    try:
        transport = httpx.ASGITransport(app=create_app(container=first))
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            made = await book(http)
        await first.bus.run_once()  # the confirmation, and the reminder rows
    finally:
        await first.aclose()

    clock.advance(timedelta(hours=1))  # past the 24 h reminder's time
    second = build(settings, clock=clock)
    try:
        assert (await second.jobs.run_due())["reminders"] == 1
        assert "reminders" not in await second.jobs.run_due()  # not again before its interval
        statuses = [r.status for r in await reminder_rows(second, made["id"])]
    finally:
        await second.aclose()
    assert statuses == ["sent", "scheduled"]
    subjects = [m["Subject"] for m in smtp_server.messages()]
    assert len(subjects) == 2
    assert subjects[1].startswith("Reminder: your visit")
