"""Booking's use cases on the in-memory unit of work (support/fake_booking.py, driven by
support/booking_clinic.py): a lost race and a deadlock (the unit of work says which:
booking/repository.py), and bookings at once sharing a batch. No database, no app. The clock
stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6); config/clinic.yaml is
the clinic.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from clinicflow.booking import errors
from clinicflow.booking.views import BookingView
from support.booking_clinic import CHICAGO, WED_10, Clinic, slot


async def test_a_lost_race_is_tried_again_and_a_race_lost_every_time_says_why(
    clinic: Clinic,
) -> None:
    clinic.db.store.failures = [errors.RaceLost("slot")]
    made = await clinic.book(1)  # the second attempt goes through
    clinic.db.store.failures = [errors.RaceLost("patient")] * 4  # the first try and 3 more

    with pytest.raises(errors.PatientUnavailable, match="already has a visit at that time"):
        await clinic.book(1, slot(datetime(2026, 11, 27, 10, 0, tzinfo=CHICAGO)))

    assert clinic.db.store.failures == []
    assert [a.id for a in clinic.db.store.appointments.values()] == [made.id]
    assert clinic.types() == ["booking.created"]


async def test_deadlocks_broken_every_time_answer_booking_busy(clinic: Clinic) -> None:
    clinic.db.store.failures = [errors.Deadlocked("40P01")] * 4

    with pytest.raises(errors.BookingBusy) as busy:
        await clinic.bookings.hold(slot())

    assert busy.value.extra == {"retry_after": 1}
    assert clinic.db.store.appointments == {}


async def test_bookings_at_once_share_a_batch_and_the_loser_leaves_nothing(
    clinic: Clinic,
) -> None:
    made = await asyncio.gather(
        clinic.book(1),
        clinic.book(2, slot(WED_10, practitioner="doctor2")),
        clinic.book(3),  # doctor1 at 10:00 again
        return_exceptions=True,
    )

    assert isinstance(made[2], errors.SlotUnavailable)
    assert {v.practitioner for v in made[:2] if isinstance(v, BookingView)} == {
        "doctor1",
        "doctor2",
    }
    assert len(clinic.db.store.appointments) == 2
    assert clinic.types() == ["booking.created", "booking.created"]
    assert "pat3@example.com" not in clinic.db.store.patients  # rolled back to its savepoint
    assert clinic.db.ledger.commits == 1
