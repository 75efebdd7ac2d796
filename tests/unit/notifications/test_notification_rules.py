"""The pure rules: which messages an event sends, consent per channel, reminder times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clinicflow.notifications.domain.plan import (
    NO_CONSENT,
    NO_EMAIL,
    NO_PHONE,
    Contact,
    plan,
)
from clinicflow.notifications.domain.schedule import (
    label,
    reminder_skip_reason,
    reminders_for,
)
from clinicflow.notifications.domain.visit import KINDS, Visit

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
START = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
SMS_YES = {"sms": {"opt_in": True, "consent_at": "2026-11-01T00:00:00+00:00"}}


def reasons(contact: Contact, kind: str = "confirmation") -> dict[str, str | None]:
    return {p.template: p.skip_reason for p in plan(kind, contact)}


def test_booking_events_map_to_message_kinds() -> None:
    assert KINDS == {
        "booking.created": "confirmation",
        "booking.rescheduled": "rescheduled",
        "booking.cancelled": "cancelled",
    }


def test_confirmation_goes_by_email_and_by_sms_only_with_opt_in() -> None:
    contact = Contact("pat@example.com", "+15125550001", SMS_YES)
    planned = plan("confirmation", contact)
    assert [(p.channel, p.template, p.address, p.skip_reason) for p in planned] == [
        ("email", "confirmation.email", "pat@example.com", None),
        ("sms", "confirmation.sms", "+15125550001", None),
    ]


def test_no_sms_without_opt_in() -> None:
    contact = Contact("pat@example.com", "+15125550001", {})
    assert reasons(contact) == {"confirmation.email": None, "confirmation.sms": NO_CONSENT}


def test_withdrawn_consent_skips_the_channel_with_reason_no_consent() -> None:
    withdrawn = {
        "email": {"opt_in": False, "consent_at": "x", "withdrawn_at": "2026-11-02T00:00:00Z"},
        "sms": {"opt_in": False, "consent_at": "x", "withdrawn_at": "2026-11-02T00:00:00Z"},
    }
    contact = Contact("pat@example.com", "+15125550001", withdrawn)
    assert reasons(contact, "reminder") == {
        "reminder.email": NO_CONSENT,
        "reminder.sms": NO_CONSENT,
    }


def test_email_needs_an_address_and_sms_a_number() -> None:
    assert reasons(Contact(None, None, SMS_YES), "cancelled") == {
        "cancelled.email": NO_EMAIL,
        "cancelled.sms": NO_PHONE,
    }


def test_reminders_default_to_24h_and_2h_before_the_start() -> None:
    found = reminders_for(START, "alternative_medicine", NOW)
    assert [(r.kind, r.send_at) for r in found] == [
        ("24h", START - timedelta(hours=24)),
        ("2h", START - timedelta(hours=2)),
    ]


def test_a_reminder_already_past_at_scheduling_is_not_created() -> None:
    soon = NOW + timedelta(hours=5)
    assert [r.kind for r in reminders_for(soon, "alternative_medicine", NOW)] == ["2h"]
    assert reminders_for(NOW + timedelta(hours=1), "alternative_medicine", NOW) == []


def test_a_service_can_override_the_offsets() -> None:
    overrides = {"counseling": [timedelta(days=2), timedelta(minutes=90)]}
    found = reminders_for(START, "counseling", NOW, overrides)
    assert [r.kind for r in found] == ["2d", "90m"]
    assert [r.kind for r in reminders_for(START, "other", NOW, overrides)] == ["24h", "2h"]


def test_offset_labels() -> None:
    assert label(timedelta(hours=24)) == "24h"
    assert label(timedelta(hours=2)) == "2h"
    assert label(timedelta(minutes=30)) == "30m"
    assert label(timedelta(days=3)) == "3d"


def test_a_due_reminder_is_skipped_when_the_booking_changed() -> None:
    before = START - timedelta(hours=2)
    assert reminder_skip_reason("confirmed", START, START, before) is None
    assert reminder_skip_reason("cancelled", START, START, before) == "booking cancelled"
    moved = START + timedelta(hours=1)
    assert reminder_skip_reason("confirmed", moved, START, before) == "booking moved"
    assert reminder_skip_reason(None, None, START, before) == "booking not found"
    assert reminder_skip_reason("confirmed", START, START, START) == "visit already started"


def test_visit_round_trips_through_the_stored_facts() -> None:
    payload = {
        "booking_id": "b1",
        "status": "confirmed",
        "service": "alternative_medicine",
        "visit_type": "initial",
        "duration": 20,
        "practitioner": "doctor1",
        "patient_id": "p1",
        "start": START.isoformat(),
        "end": (START + timedelta(minutes=20)).isoformat(),
        "previous": {"start": NOW.isoformat(), "end": NOW.isoformat(), "practitioner": "x"},
    }
    visit = Visit.from_payload(payload)
    assert visit.previous_start == NOW
    again = Visit.from_facts(visit.facts())
    assert again.start == visit.start
    assert again.previous_start == NOW
    assert again.patient_id is None  # facts keep ids of the booking only
