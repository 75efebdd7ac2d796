"""Due reminders on the in-memory unit of work: each judged again against the booking as it
stands when it falls due, sent once, and a failure of one not holding back the others. Their
SQL (due rows locked per worker, both databases) is in
tests/integration/test_notifications_reminders.py.

Booked for Wednesday 2026-11-25 10:00 CST (16:00 UTC) on Tuesday 09:00 CST: the 24 h
reminder is due Tuesday 10:00, the 2 h one Wednesday 08:00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from clinicflow.booking import BookingNow
from clinicflow.notifications.ports import MessageRejected
from support.fake_notifications import NOW, START, Clinic, Reach, booking_event

CONFIRMED = BookingNow(
    "b1", "confirmed", "alternative_medicine", "initial", "doctor1", START, START, "p1"
)


async def booked(clinic: Clinic, booking: BookingNow = CONFIRMED) -> None:
    clinic.db.tables.bookings[booking.id] = booking
    await clinic.handle(booking_event(booking_id=booking.id, patient_id=booking.patient_id or "p1"))


def statuses(clinic: Clinic) -> list[tuple[str, str, str | None]]:
    return sorted((r.kind, r.status, r.reason) for r in clinic.db.tables.reminders.values())


async def test_a_due_reminder_is_sent_at_its_time_and_only_once() -> None:
    clinic = Clinic()
    await booked(clinic)
    assert await clinic.wired.reminders.send_due(NOW) == 0
    clinic.clock.advance(timedelta(hours=1))
    assert await clinic.wired.reminders.send_due(clinic.clock.now()) == 1
    assert await clinic.wired.reminders.send_due(clinic.clock.now()) == 0

    assert [m.rendered.subject.split(":")[0] for m in clinic.email.sent] == [
        clinic.email.sent[0].rendered.subject.split(":")[0],
        "Reminder",
    ]
    assert statuses(clinic) == [("24h", "sent", None), ("2h", "scheduled", None)]
    [reminder] = [m for m in clinic.db.tables.messages.values() if m.template == "reminder.email"]
    assert reminder.status == "sent"
    assert reminder.event_id.startswith("reminder:")
    assert reminder.facts["start"] == START.isoformat()


async def test_a_reminder_sees_the_booking_as_it_stands_not_as_the_events_said() -> None:
    """Cancelled, moved, gone, or already begun by the time the reminder falls due: skipped
    with the reason, and no message."""
    cases = {
        "booking cancelled": replace(CONFIRMED, status="cancelled"),
        "booking moved": replace(CONFIRMED, start=START + timedelta(hours=1)),
        "booking not found": None,
    }
    for reason, now_it_is in cases.items():
        clinic = Clinic()
        await booked(clinic)
        if now_it_is is None:
            del clinic.db.tables.bookings["b1"]
        else:
            clinic.db.tables.bookings["b1"] = now_it_is
        clinic.clock.advance(timedelta(hours=1))
        assert await clinic.wired.reminders.send_due(clinic.clock.now()) == 0, reason
        assert statuses(clinic)[0] == ("24h", "skipped", reason)
        assert not [m for m in clinic.db.tables.messages.values() if m.kind == "reminder"]


async def test_a_reminder_found_after_the_visit_began_is_dropped() -> None:
    clinic = Clinic()
    await booked(clinic)
    clinic.clock.set(START + timedelta(minutes=5))  # every worker was down for a day
    assert await clinic.wired.reminders.send_due(clinic.clock.now()) == 0
    assert statuses(clinic) == [
        ("24h", "skipped", "visit already started"),
        ("2h", "skipped", "visit already started"),
    ]


async def test_one_patients_failure_does_not_hold_back_the_others() -> None:
    clinic = Clinic()
    await booked(clinic)
    clinic.db.tables.contacts["p2"] = Reach("pat2@example.com", None, {})
    await booked(clinic, replace(CONFIRMED, id="b2", patient_id="p2"))
    sent_before = len(clinic.email.sent)

    original = clinic.email.deliver

    async def deliver(message: object) -> object:
        if getattr(message, "address", "") == "pat1@example.com":
            raise MessageRejected("smtp", "mailbox unavailable", code="550")
        return await original(message)  # type: ignore[arg-type]

    clinic.email.deliver = deliver  # type: ignore[method-assign]
    clinic.clock.advance(timedelta(hours=1))
    assert await clinic.wired.reminders.send_due(clinic.clock.now()) == 2

    assert len(clinic.email.sent) == sent_before + 1
    by_booking = {
        m.booking_id: (m.status, m.reason)
        for m in clinic.db.tables.messages.values()
        if m.template == "reminder.email"
    }
    assert by_booking == {
        "b1": ("failed", "MessageRejected: mailbox unavailable"),
        "b2": ("sent", None),
    }


async def test_a_reminder_closed_and_its_messages_recorded_commit_together() -> None:
    """A worker that stops between closing the reminder and sending its message leaves the
    message queued: the recovery job sends it after the timeout (a reminder has no event to
    be delivered again)."""
    clinic = Clinic()
    await booked(clinic)
    clinic.clock.advance(timedelta(hours=1))

    async def stopped(prepared: object) -> None:
        raise SystemExit  # the process ends right after the commit

    clinic.wired.dispatcher.send = stopped  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await clinic.wired.reminders.send_due(clinic.clock.now())
    [queued] = [m for m in clinic.db.tables.messages.values() if m.template == "reminder.email"]
    assert queued.status == "queued"
    assert statuses(clinic)[0] == ("24h", "sent", None)
    del clinic.wired.dispatcher.send

    assert await clinic.wired.recovery.resume(clinic.clock.now()) == 0  # not abandoned yet
    clinic.clock.advance(timedelta(minutes=6))
    assert await clinic.wired.recovery.resume(clinic.clock.now()) == 1
    assert clinic.db.tables.messages[queued.id].status == "sent"
