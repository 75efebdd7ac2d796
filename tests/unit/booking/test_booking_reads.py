"""Booking's use cases on the in-memory unit of work (support/fake_booking.py, driven by
support/booking_clinic.py): reading visits scoped to the caller and audited, break-glass, and
the open slots a booking takes away. No database, no app. The clock stands at Tuesday 2026-11-24
09:00 in the clinic (America/Chicago, UTC-6); config/clinic.yaml is the clinic.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clinicflow.booking import errors
from clinicflow.booking.commands import SlotQuestion
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.errors import Forbidden
from support.booking_clinic import CHICAGO, DESK, WED_10, WED_1015, Clinic, slot


async def test_reads_are_scoped_to_the_caller_and_audited(clinic: Clinic) -> None:
    mine = await clinic.book(1)
    theirs = await clinic.book(2, slot(WED_10, practitioner="doctor2"))
    me = Actor(kind="patient", id="l1", role=Role.PATIENT, patient_id=mine.patient_id)
    doctor2 = Actor(kind="user", id="d2", role=Role.PRACTITIONER, practitioner="doctor2")

    own = await clinic.reader.search(me, None, None, None, 100)
    schedule = await clinic.reader.search(doctor2, None, None, None, 100)
    with pytest.raises(Forbidden):
        await clinic.reader.search(doctor2, "doctor1", None, None, 100)
    with pytest.raises(errors.BookingNotFound):
        await clinic.reader.get(me, theirs.id)
    seen = await clinic.reader.get(DESK, theirs.id)

    assert [v.id for v in own] == [mine.id]
    assert [v.id for v in schedule] == [theirs.id]
    assert seen.id == theirs.id
    assert [(who, a.resource_id) for who, _, a in clinic.trail.read] == [
        ("l1", mine.id),
        ("d2", theirs.id),
        ("desk-1", theirs.id),
    ]
    assert [(who, a.resource_id) for who, _, a in clinic.trail.denied] == [("l1", theirs.id)]


async def test_staff_may_open_a_record_outside_their_scope_by_break_glass(clinic: Clinic) -> None:
    made = await clinic.book(1)
    doctor2 = Actor(
        kind="user",
        id="d2",
        role=Role.PRACTITIONER,
        practitioner="doctor2",
        break_glass_reason="covering for doctor1",
    )

    seen = await clinic.reader.get(doctor2, made.id)

    assert seen.id == made.id
    assert [(r.actor_id, r.outcome, r.break_glass) for r in clinic.trail.rows] == [
        ("d2", "allowed", True)
    ]


# --- availability ----------------------------------------------------------------------


async def test_a_booking_takes_its_block_out_of_the_open_slots(clinic: Clinic) -> None:
    day = (datetime(2026, 11, 25, tzinfo=CHICAGO), datetime(2026, 11, 26, tzinfo=CHICAGO))
    question = SlotQuestion("alternative_medicine", "initial", 20, *day, "doctor1")
    before = await clinic.availability.find(question)
    await clinic.book(1)
    after = await clinic.availability.find(question)

    starts = {s.start for s in after}
    assert {WED_10, WED_1015} <= {s.start for s in before}
    assert WED_10 not in starts
    assert WED_1015 not in starts
    assert datetime(2026, 11, 25, 9, 45, tzinfo=CHICAGO) not in starts  # would run into it
    assert datetime(2026, 11, 25, 10, 30, tzinfo=CHICAGO) in starts


async def test_availability_refuses_an_empty_or_too_long_range(clinic: Clinic) -> None:
    lo = datetime(2026, 11, 25, tzinfo=CHICAGO)
    with pytest.raises(errors.InvalidRange):
        await clinic.availability.find(SlotQuestion("alternative_medicine", "initial", 20, lo, lo))
    with pytest.raises(errors.RangeTooLong):
        await clinic.availability.find(
            SlotQuestion("alternative_medicine", "initial", 20, lo, lo + timedelta(days=93))
        )
