"""Booking's use cases on the in-memory unit of work (support/fake_booking.py, driven by
support/booking_clinic.py): rescheduling a visit: where it moves, what it publishes, and who
may. No database, no app. The clock stands at Tuesday 2026-11-24 09:00 in the clinic
(America/Chicago, UTC-6); config/clinic.yaml is the clinic.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from clinicflow.booking import errors
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.shared.actor import Actor, Role
from support.booking_clinic import CHICAGO, DESK, TWO_PM, WED_10, WED_1015, Clinic, slot


async def test_rescheduling_moves_the_visit_and_says_where_it_was(clinic: Clinic) -> None:
    made = await clinic.book(1)

    moved = await clinic.bookings.reschedule(DESK, made.id, TWO_PM, None, None)
    other = await clinic.book(2)  # 10:00 is free again

    assert (moved.id, moved.start, moved.practitioner) == (made.id, TWO_PM, "doctor1")
    assert other.start == WED_10
    event = clinic.published[1]
    assert event.type == "booking.rescheduled"
    assert event.payload["previous"] == {
        "start": "2026-11-25T16:00:00+00:00",
        "end": "2026-11-25T16:20:00+00:00",
        "practitioner": "doctor1",
    }
    assert [e.action for e, _ in clinic.db.ledger.audited] == ["create", "reschedule", "create"]


async def test_rescheduling_onto_a_taken_slot_or_a_cancelled_visit_is_refused(
    clinic: Clinic,
) -> None:
    first = await clinic.book(1)
    second = await clinic.book(2, slot(TWO_PM))
    with pytest.raises(errors.SlotUnavailable):
        await clinic.bookings.reschedule(DESK, second.id, WED_1015, None, None)
    await clinic.bookings.act(DESK, first.id, Action.CANCEL, None)

    with pytest.raises(errors.InvalidTransition) as refused:
        await clinic.bookings.reschedule(DESK, first.id, WED_1015, None, None)

    assert refused.value.extra == {"current_status": "cancelled"}
    assert clinic.types() == ["booking.created", "booking.created", "booking.cancelled"]


async def test_a_patient_reschedules_their_own_visit_only(clinic: Clinic) -> None:
    made = await clinic.book(1)
    mine = Actor(kind="patient", id="l1", role=Role.PATIENT, patient_id=made.patient_id)
    someone = Actor(kind="patient", id="l2", role=Role.PATIENT, patient_id="p-other")
    later = datetime(2026, 11, 25, 15, 0, tzinfo=CHICAGO)

    with pytest.raises(errors.BookingNotFound):
        await clinic.bookings.reschedule(someone, made.id, later, None, None)
    moved = await clinic.bookings.reschedule(mine, made.id, later, None, None)

    assert moved.start == later
    assert [(who, action) for who, action, _ in clinic.trail.denied] == [("l2", "change")]
    assert clinic.types() == ["booking.created", "booking.rescheduled"]
