"""Booking's use cases on the in-memory unit of work (support/fake_booking.py, driven by
support/booking_clinic.py): the visit's life cycle: cancelling, check-in, completion, no-show,
and who may act on a visit. No database, no app. The clock stands at Tuesday 2026-11-24 09:00 in
the clinic (America/Chicago, UTC-6); config/clinic.yaml is the clinic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.booking import errors
from clinicflow.booking.domain.lifecycle import Action, Status
from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.errors import Forbidden, Unauthenticated
from support.booking_clinic import ATTENDANT, DESK, WED_10, Clinic


async def test_cancelling_frees_the_slot_keeps_the_reason_and_cannot_be_done_twice(
    clinic: Clinic,
) -> None:
    made = await clinic.book(1)

    cancelled = await clinic.bookings.act(DESK, made.id, Action.CANCEL, "feeling better")
    with pytest.raises(errors.InvalidTransition):
        await clinic.bookings.act(DESK, made.id, Action.CANCEL, None)
    again = await clinic.book(2)

    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "feeling better")
    assert again.start == WED_10
    event = clinic.published[1]
    assert (event.type, event.payload["reason"]) == ("booking.cancelled", "feeling better")
    assert [e.action for e, _ in clinic.db.ledger.audited] == ["create", "cancel", "create"]
    assert [e.type for e in clinic.db.store.heard][:2] == ["booking.created", "booking.cancelled"]


async def test_check_in_opens_its_configured_time_before_the_visit(clinic: Clinic) -> None:
    made = await clinic.book(1)

    with pytest.raises(errors.TooEarly) as early:
        await clinic.bookings.act(ATTENDANT, made.id, Action.CHECK_IN, None)
    clinic.clock.set(datetime(2026, 11, 25, 3, 59, tzinfo=UTC))  # 21:59 the evening before
    with pytest.raises(errors.TooEarly):
        await clinic.bookings.act(ATTENDANT, made.id, Action.CHECK_IN, None)
    clinic.clock.advance(timedelta(minutes=1))  # 720 minutes before the start
    checked = await clinic.bookings.act(ATTENDANT, made.id, Action.CHECK_IN, None)
    done = await clinic.bookings.act(ATTENDANT, made.id, Action.COMPLETE, None)

    assert "2026-11-24T22:00:00-06:00" in early.value.detail
    assert "720 minutes" in early.value.detail
    assert (checked.status, done.status) == ("checked_in", "completed")
    assert clinic.types() == ["booking.created", "booking.checked_in", "booking.completed"]
    assert [e.action for e, _ in clinic.db.ledger.audited] == ["create", "check-in", "complete"]


async def test_completion_needs_a_check_in_and_a_finished_visit_takes_no_more_steps(
    clinic: Clinic,
) -> None:
    made = await clinic.book(1)
    clinic.clock.advance(timedelta(hours=24))

    with pytest.raises(errors.InvalidTransition) as unchecked:
        await clinic.bookings.act(ATTENDANT, made.id, Action.COMPLETE, None)
    await clinic.bookings.act(ATTENDANT, made.id, Action.CHECK_IN, None)
    with pytest.raises(errors.InvalidTransition):
        await clinic.bookings.act(ATTENDANT, made.id, Action.CANCEL, None)

    assert unchecked.value.extra == {"current_status": "confirmed"}
    assert clinic.types() == ["booking.created", "booking.checked_in"]


async def test_a_no_show_is_marked_only_once_the_visit_has_started(clinic: Clinic) -> None:
    made = await clinic.book(1)

    with pytest.raises(errors.InvalidTransition, match="start time has passed"):
        await clinic.bookings.act(ATTENDANT, made.id, Action.NO_SHOW, None)
    clinic.clock.set(WED_10.astimezone(UTC))
    marked = await clinic.bookings.act(ATTENDANT, made.id, Action.NO_SHOW, None)

    assert marked.status == Status.NO_SHOW.value
    assert marked.actions == ()
    assert clinic.types() == ["booking.created", "booking.no_show"]


async def test_who_may_act_on_a_visit(clinic: Clinic) -> None:
    made = await clinic.book(1)
    patient = Actor(kind="patient", id="l1", role=Role.PATIENT, patient_id=made.patient_id)
    other_doctor = Actor(kind="user", id="d2", role=Role.PRACTITIONER, practitioner="doctor2")

    with pytest.raises(Unauthenticated):
        await clinic.bookings.act(ANONYMOUS, made.id, Action.CANCEL, None)
    with pytest.raises(Forbidden):  # a patient does not check themselves in
        await clinic.bookings.act(patient, made.id, Action.CHECK_IN, None)
    with pytest.raises(errors.BookingNotFound):  # another practitioner's visit
        await clinic.bookings.act(other_doctor, made.id, Action.CANCEL, None)
    with pytest.raises(errors.BookingNotFound):
        await clinic.bookings.act(DESK, "no-such-booking", Action.CANCEL, None)
    cancelled = await clinic.bookings.act(patient, made.id, Action.CANCEL, None)

    assert cancelled.status == "cancelled"
    assert [(who, action) for who, action, _ in clinic.trail.denied] == [
        ("l1", "attend"),
        ("d2", "change"),
    ]
    assert clinic.types() == ["booking.created", "booking.cancelled"]
