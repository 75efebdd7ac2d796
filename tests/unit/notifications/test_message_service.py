"""Which events produce which messages, and the claim before each send, on the in-memory
unit of work: consent per channel, what is recorded and audited, redelivery, failures and
the recovery of a send a dead worker left. The SQL behind it, the SMTP wire and the crash
test with real processes are tests/integration/test_notifications*.py and
tests/e2e/test_message_crash.py.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6); the
visit is Wednesday 10:00 (16:00 UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from clinicflow.booking import BookingNow
from clinicflow.notifications.domain.messages import DeliveryReport, message_id_header
from clinicflow.notifications.domain.push import PushSubscription, Registration
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.messages.errors import DeliveryFailed
from clinicflow.notifications.ports import ProviderUnavailable
from support.fake_notifications import (
    CATALOG,
    NOW,
    SENDER,
    START,
    TIMEOUT,
    Clinic,
    FakeMessages,
    FakePushSubscriptions,
    Reach,
    booking_event,
    payment_event,
)

# --- which events produce which messages -----------------------------------------------------


async def test_a_booking_sends_the_confirmation_email_and_records_the_skipped_sms() -> None:
    clinic = Clinic()
    await clinic.handle(booking_event())

    [mail] = clinic.email.sent
    assert mail.address == "pat1@example.com"
    assert "Riverbend Wellness Clinic" in mail.rendered.subject
    assert "Wednesday 25 November 2026 at 10:00 (CST)" in mail.rendered.text
    assert clinic.statuses() == {
        "confirmation.email": ("sent", None),
        "confirmation.sms": ("skipped", "no consent"),
    }
    email = clinic.db.tables.message("confirmation.email")
    assert (email.provider, email.provider_id, email.booking_id) == ("smtp", "email-1", "b1")
    assert mail.message_id == message_id_header(email.id, SENDER)
    assert clinic.sms.sent == []
    # Reading the patient's addresses is a PHI read: audited as the system's "notify".
    assert clinic.db.audited() == [("clinicflow", "notify", "patient", "p1")]


async def test_a_message_row_keeps_the_facts_not_the_text() -> None:
    clinic = Clinic()
    await clinic.handle(booking_event())
    email = clinic.db.tables.message("confirmation.email")
    assert email.facts["start"] == START.isoformat()
    assert "pat1@example.com" not in repr(email)
    assert "Riverbend" not in repr(email.facts)


async def test_the_confirmation_carries_a_calendar_invitation_and_a_cancel_a_higher_sequence() -> (
    None
):
    clinic = Clinic()
    await clinic.handle(booking_event())
    await clinic.handle(booking_event("booking.cancelled"))

    invite, cancel = (Calendar.from_ical(m.attachments[0].content) for m in clinic.email.sent)
    assert [a.content_type for m in clinic.email.sent for a in m.attachments] == [
        "text/calendar; method=REQUEST",
        "text/calendar; method=CANCEL",
    ]
    [first], [second] = invite.walk("VEVENT"), cancel.walk("VEVENT")
    assert str(first["UID"]) == str(second["UID"]) == "b1@clinicflow"
    assert int(first["SEQUENCE"]) == 0
    assert int(second["SEQUENCE"]) == 1  # one email of this booking was sent before


async def test_sms_needs_the_patients_opt_in_and_a_phone() -> None:
    clinic = Clinic()
    clinic.db.tables.contacts["p1"] = Reach(
        "pat1@example.com", "+15125550001", {"sms": {"opt_in": True}}
    )
    clinic.db.tables.contacts["p2"] = Reach("pat2@example.com", None, {"sms": {"opt_in": True}})
    await clinic.handle(booking_event())
    await clinic.handle(booking_event(booking_id="b2", patient_id="p2"))

    [text] = clinic.sms.sent
    assert text.address == "+15125550001"
    assert "Alternative" not in text.rendered.text  # no service name in an SMS by default
    assert clinic.db.tables.message("confirmation.sms", "b1").status == "sent"
    skipped = clinic.db.tables.message("confirmation.sms", "b2")
    assert (skipped.status, skipped.reason) == ("skipped", "no phone number")


async def test_a_withdrawn_email_consent_is_recorded_as_skipped_and_nothing_goes() -> None:
    clinic = Clinic()
    withdrawn = {"email": {"withdrawn_at": "2026-11-01T00:00:00+00:00"}}
    clinic.db.tables.contacts["p1"] = Reach("pat1@example.com", None, withdrawn)
    await clinic.handle(booking_event())
    assert clinic.email.sent == []
    assert clinic.statuses()["confirmation.email"] == ("skipped", "no consent")


async def test_an_opted_in_sms_without_a_provider_is_kept_locally_and_delivered() -> None:
    clinic = Clinic(sms=False)
    clinic.db.tables.contacts["p1"] = Reach(
        "pat1@example.com", "+15125550001", {"sms": {"opt_in": True}}
    )
    await clinic.handle(booking_event())
    local = clinic.db.tables.message("confirmation.sms")
    assert (local.channel, local.status, local.provider) == ("local", "delivered", "local")


async def test_nobody_to_tell_plans_nothing() -> None:
    clinic = Clinic()
    await clinic.handle(booking_event(patient_id=None))  # a bare hold
    await clinic.handle(booking_event(booking_id="b9", patient_id="unknown"))
    await clinic.handle(booking_event("booking.no_show"))  # not a kind that sends
    assert clinic.db.tables.messages == {}
    assert clinic.db.audited() == []


async def test_push_is_planned_only_with_a_provider_and_a_registered_browser() -> None:
    without = Clinic(push=True)
    await without.handle(booking_event())
    assert "confirmation.push" not in without.statuses()

    clinic = Clinic(push=True)
    browser = PushSubscription("https://push.example/send/1", "k", "a")
    await FakePushSubscriptions(clinic.db.tables).save(
        Registration("p1", browser), NOW - timedelta(days=1)
    )
    await clinic.handle(booking_event())
    [push] = clinic.push.sent
    assert push.patient_id == "p1"
    assert push.address == ""  # the channel finds the patient's browsers itself
    assert clinic.statuses()["confirmation.push"] == ("sent", None)

    unconfigured = Clinic(push=False)
    await FakePushSubscriptions(unconfigured.db.tables).save(
        Registration("p1", browser), NOW - timedelta(days=1)
    )
    await unconfigured.handle(booking_event())
    assert "confirmation.push" not in unconfigured.statuses()


async def test_a_paid_order_sends_one_receipt_by_email_only_naming_its_visits() -> None:
    clinic = Clinic()
    clinic.db.tables.contacts["p1"] = Reach(
        "pat1@example.com", "+15125550001", {"sms": {"opt_in": True}}
    )
    clinic.db.tables.bookings["b1"] = BookingNow(
        "b1", "confirmed", "alternative_medicine", "initial", "doctor1", START, START, "p1"
    )
    event = payment_event()
    await clinic.handle(event)
    await clinic.handle(event)  # redelivered

    assert clinic.statuses() == {"receipt.email": ("sent", None)}
    [mail] = clinic.email.sent
    assert "$119.00" in mail.rendered.text
    receipt = clinic.db.tables.message("receipt.email")
    assert receipt.booking_id is None  # not counted in a booking's invitation sequence
    assert [v["booking_id"] for v in receipt.facts["visits"]] == ["b1"]


async def test_no_money_moved_or_nobody_to_tell_sends_no_notice() -> None:
    clinic = Clinic()
    await clinic.handle(payment_event("payment.refunded", amount_cents=0, refunded_cents=0))
    await clinic.handle(payment_event(patient_id=None))
    assert clinic.db.tables.messages == {}


# --- reminders scheduled and moved by the booking's events -----------------------------------


def reminders(clinic: Clinic) -> list[tuple[str, datetime, str]]:
    return sorted(
        (r.kind, r.booking_start_at, r.status) for r in clinic.db.tables.reminders.values()
    )


async def test_a_booking_schedules_its_reminders_once() -> None:
    clinic = Clinic()
    event = booking_event()
    await clinic.handle(event)
    await clinic.handle(event)
    assert sorted((r.kind, r.send_at) for r in clinic.db.tables.reminders.values()) == [
        ("24h", START - timedelta(hours=24)),
        ("2h", START - timedelta(hours=2)),
    ]


async def test_a_cancellation_cancels_the_pending_reminders() -> None:
    clinic = Clinic()
    await clinic.handle(booking_event())
    await clinic.handle(booking_event("booking.cancelled"))
    assert reminders(clinic) == [("24h", START, "cancelled"), ("2h", START, "cancelled")]


async def test_a_move_cancels_the_old_reminders_and_schedules_the_new_ones() -> None:
    clinic = Clinic()
    moved = START + timedelta(hours=1)
    await clinic.handle(booking_event())
    event = booking_event(
        "booking.rescheduled",
        start=moved.isoformat(),
        end=(moved + timedelta(hours=1)).isoformat(),
        previous={"start": START.isoformat()},
    )
    await clinic.handle(event)
    await clinic.handle(event)  # redelivered: changes nothing
    assert reminders(clinic) == [
        ("24h", START, "cancelled"),
        ("24h", moved, "scheduled"),
        ("2h", START, "cancelled"),
        ("2h", moved, "scheduled"),
    ]
    assert clinic.statuses()["rescheduled.email"] == ("sent", None)


async def test_reminder_offsets_are_per_service() -> None:
    clinic = Clinic()
    clinic.wired = clinic.db.wire(
        clinic.clock,
        CATALOG,
        {"email": clinic.email},
        reminder_offsets={"alternative_medicine": [timedelta(minutes=90), timedelta(days=3)]},
    )
    await clinic.handle(booking_event())
    # Three days before has passed already at booking time: not created.
    assert [r.kind for r in clinic.db.tables.reminders.values()] == ["90m"]


# --- claim before send ----------------------------------------------------------------------


async def test_a_redelivered_event_sends_nothing_more() -> None:
    clinic = Clinic()
    event = booking_event()
    await clinic.handle(event)
    await clinic.handle(event)
    assert len(clinic.email.sent) == 1
    assert len(clinic.db.tables.messages) == 2


async def test_a_failed_send_is_recorded_without_phi_and_sent_on_redelivery() -> None:
    clinic = Clinic()
    clinic.email.failing = ProviderUnavailable("smtp", "connection refused")
    event = booking_event()
    with pytest.raises(DeliveryFailed, match="1 message"):
        await clinic.handle(event)
    failed = clinic.db.tables.message("confirmation.email")
    assert (failed.status, failed.reason) == ("failed", "ProviderUnavailable: connection refused")

    clinic.email.failing = None
    await clinic.handle(event)
    assert clinic.db.tables.message("confirmation.email").status == "sent"
    assert len(clinic.email.sent) == 1


async def test_an_unexpected_error_is_recorded_by_its_type_only() -> None:
    clinic = Clinic()

    class Leaky(RuntimeError):
        pass

    async def deliver(message: object) -> object:
        raise Leaky("could not reach pat1@example.com")

    clinic.email.deliver = deliver  # type: ignore[method-assign]
    with pytest.raises(DeliveryFailed):
        await clinic.handle(booking_event())
    assert clinic.db.tables.message("confirmation.email").reason == "Leaky"


async def test_a_claim_held_by_a_live_worker_is_left_to_it_and_recovered_after_the_timeout() -> (
    None
):
    clinic = Clinic()
    event = booking_event()
    died = Died()
    clinic.email.deliver = died.deliver  # type: ignore[method-assign]
    with pytest.raises(Died):
        await clinic.handle(event)  # the worker died inside the provider call
    assert clinic.statuses()["confirmation.email"] == ("sending", None)
    del clinic.email.deliver  # the next worker's channel works

    await clinic.handle(event)  # redelivered while the claim is fresh
    assert clinic.email.sent == []
    assert await clinic.wired.recovery.resume(clinic.clock.now()) == 0

    clinic.clock.advance(TIMEOUT + timedelta(seconds=1))
    assert await clinic.wired.recovery.resume(clinic.clock.now()) == 1
    [mail] = clinic.email.sent
    assert mail.message_id == died.message_ids[0]  # the same Message-ID: collapsed as one
    assert clinic.statuses()["confirmation.email"] == ("sent", None)

    clinic.clock.advance(TIMEOUT * 2)
    await clinic.handle(event)
    assert await clinic.wired.recovery.resume(clinic.clock.now()) == 0
    assert len(clinic.email.sent) == 1  # the completed send is never repeated


async def test_a_message_a_provider_accepted_and_then_reported_failed_is_not_sent_again() -> None:
    clinic = Clinic()
    event = booking_event()
    await clinic.handle(event)
    email = clinic.db.tables.message("confirmation.email")
    failed = DeliveryReport("smtp", (email.provider_id or "",), "failed", "550")
    await FakeMessages(clinic.db.tables).report(failed, NOW)
    await clinic.handle(event)
    assert len(clinic.email.sent) == 1
    assert clinic.statuses()["confirmation.email"] == ("failed", "550")


async def test_planning_commits_before_any_provider_call() -> None:
    """The messages are in the table (committed) when the channel is called: a send never
    runs inside the transaction that planned it."""
    clinic = Clinic()
    seen: list[dict[str, tuple[str, str | None]]] = []

    async def deliver(message: object) -> object:
        seen.append(clinic.statuses())
        raise ProviderUnavailable("smtp", "down")

    clinic.email.deliver = deliver  # type: ignore[method-assign]
    with pytest.raises(DeliveryFailed):
        await clinic.handle(booking_event())
    assert seen == [
        {"confirmation.email": ("sending", None), "confirmation.sms": ("skipped", "no consent")}
    ]
    assert clinic.db.ledger.commits == 3  # planned, claimed, marked failed: each its own


class Died(BaseException):
    """The worker's process ending in the provider call (not an error the code handles)."""

    def __init__(self) -> None:
        super().__init__()
        self.message_ids: list[str | None] = []

    async def deliver(self, message: Any) -> None:
        self.message_ids.append(message.message_id)
        raise self


async def test_of_two_workers_holding_the_same_plan_only_the_claims_winner_sends() -> None:
    """Both planned the event before either sent (a redelivery racing the first worker):
    each message goes once, by whichever worker claims it."""
    clinic = Clinic()
    event = booking_event()
    visit = Visit.from_payload(event.payload)
    plans = []
    for _ in range(2):
        async with clinic.db.uow() as uow:
            dispatcher = clinic.wired.dispatcher
            plans.append(await dispatcher.prepare(uow, event.event_id, "confirmation", visit, "p1"))
            await uow.commit()
    assert [len(p.messages) for p in plans] == [1, 1]  # the queued email, in both

    for prepared in plans:
        await clinic.wired.dispatcher.send(prepared)
    assert len(clinic.email.sent) == 1
    assert clinic.statuses()["confirmation.email"] == ("sent", None)
