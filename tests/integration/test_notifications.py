"""The notifications subscriber over a real database, driven with the events real bookings
wrote to the outbox; email goes through a real SMTP server on loopback.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import audit_log
from clinicflow.shared.clock import FixedClock
from support.fake_smtp import FakeSmtpRelay
from support.notifications import (
    PUBLIC,
    NotifyScene,
    book,
    envelope,
    notifications_of,
    rows,
    smtp_email,
)

# The outbox, relay and inbox: delivery once rests on each database's transactions.
pytestmark = pytest.mark.both_databases


def ics_of(message: Any) -> Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


async def test_confirmation_email_arrives_over_smtp_with_a_calendar_invitation(
    notify: NotifyScene,
) -> None:
    made = await notify.book()
    await notify.hear("booking.created", made["id"])

    [mail] = notify.smtp_server.messages()
    assert mail["To"] == "pat1@example.com"
    assert "Riverbend Wellness Clinic" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Wednesday 25 November 2026 at 10:00 (CST)" in text
    assert f"{PUBLIC}/me/visits/{made['id']}" in text
    cal = ics_of(mail)
    [event] = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{made['id']}@clinicflow"
    assert event["DTSTART"].dt.isoformat() == "2026-11-25T16:00:00+00:00"

    found = {r.template: r for r in await notify.rows(booking_id=made["id"])}
    assert found["confirmation.email"].status == "sent"
    assert found["confirmation.email"].provider == "smtp"
    assert (found["confirmation.sms"].status, found["confirmation.sms"].reason) == (
        "skipped",
        "no consent",
    )
    async with notify.container.db.read() as conn:
        audited = (
            await conn.execute(
                select(audit_log).where(
                    audit_log.c.action == "notify", audit_log.c.patient_id == made["patient_id"]
                )
            )
        ).all()
    assert [(a.actor_type, a.role) for a in audited] == [("system", "system")]


async def test_a_redelivered_event_sends_nothing_more(notify: NotifyScene) -> None:
    made = await notify.book()
    event = await envelope(notify.container, "booking.created", made["id"])
    await notify.notifications.subscriber.handle(event)
    await notify.notifications.subscriber.handle(event)
    assert len(notify.smtp_server.envelopes) == 1
    assert len(await notify.rows(booking_id=made["id"])) == 2


async def test_sms_goes_only_to_a_patient_who_opted_in(notify: NotifyScene) -> None:
    first = await notify.book()
    await notify.hear("booking.created", first["id"])
    assert notify.sms.sent == []

    second = await notify.book(n=2, practitioner="doctor2")
    resp = await notify.client.patch(
        f"/v1/patients/{second['patient_id']}",
        json={"contact_prefs": {"sms": True}},
        headers=notify.desk,
    )
    assert resp.status_code == 200, resp.text
    await notify.hear("booking.created", second["id"])
    [(to, text)] = notify.sms.sent
    assert to == "+15125550002"
    assert "Alternative" not in text  # no service name in an SMS by default
    [row] = await notify.rows(booking_id=second["id"], channel="sms")
    assert (row.status, row.provider, row.provider_id) == ("sent", "fake", "SM1")


async def test_cancellation_sends_a_calendar_cancel_with_a_higher_sequence(
    notify: NotifyScene,
) -> None:
    made = await notify.book()
    await notify.hear("booking.created", made["id"])
    resp = await notify.client.post(f"/v1/bookings/{made['id']}/cancel", headers=notify.desk)
    assert resp.status_code == 200, resp.text
    await notify.hear("booking.cancelled", made["id"])
    invite, cancel = (ics_of(m) for m in notify.smtp_server.messages())
    assert str(cancel["METHOD"]) == "CANCEL"
    [first], [second] = invite.walk("VEVENT"), cancel.walk("VEVENT")
    assert str(second["UID"]) == str(first["UID"])
    assert int(second["SEQUENCE"]) > int(first["SEQUENCE"])


async def test_failed_send_is_recorded_and_retried_on_redelivery(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    smtp_server: FakeSmtpRelay,
) -> None:
    dead = notifications_of(
        container,
        clock,
        email=smtp_email(1, clock),  # nothing listens on port 1
        public_url=PUBLIC,
    )
    made = await book(client)
    event = await envelope(container, "booking.created", made["id"])
    with pytest.raises(Exception, match="not sent"):
        await dead.subscriber.handle(event)
    [email] = await rows(container, booking_id=made["id"], channel="email")
    assert email.status == "failed"
    assert "pat1" not in (email.reason or "")

    alive = notifications_of(
        container,
        clock,
        email=smtp_email(smtp_server.port, clock),
        public_url=PUBLIC,
    )
    await alive.subscriber.handle(event)
    [email] = await rows(container, booking_id=made["id"], channel="email")
    assert email.status == "sent"
    assert len(smtp_server.envelopes) == 1
