"""Booking's use cases on the in-memory unit of work (support/fake_booking.py, driven by
support/booking_clinic.py): an idempotency key replays the first booking, is refused for another
request, and is scoped per caller. No database, no app. The clock stands at Tuesday 2026-11-24
09:00 in the clinic (America/Chicago, UTC-6); config/clinic.yaml is the clinic.
"""

from __future__ import annotations

import pytest

from clinicflow.booking import errors
from clinicflow.booking.commands import BookRequest
from clinicflow.shared.actor import ANONYMOUS
from support.booking_clinic import DESK, WED_10, WED_1015, Clinic, person, slot


async def test_the_same_key_and_request_replays_the_first_booking(clinic: Clinic) -> None:
    req = BookRequest(slot(), person(1))
    first, replayed_first = await clinic.bookings.book(ANONYMOUS, req, "key-123")

    again, replayed = await clinic.bookings.book(ANONYMOUS, req, "key-123")

    assert (replayed_first, replayed) == (False, True)
    assert again == first
    assert len(clinic.db.store.appointments) == 1
    assert clinic.types() == ["booking.created"]  # the replay published nothing
    assert len(clinic.db.ledger.audited) == 1


async def test_a_key_reused_for_another_request_is_refused_and_leaves_nothing(
    clinic: Clinic,
) -> None:
    await clinic.book(1, key="key-123")

    with pytest.raises(errors.IdempotencyKeyReused):
        await clinic.book(2, slot(WED_1015, practitioner="doctor2", duration=15), key="key-123")
    with pytest.raises(errors.IdempotencyKeyReused):  # the same slot, another patient
        await clinic.book(2, key="key-123")

    assert len(clinic.db.store.appointments) == 1
    assert clinic.types() == ["booking.created"]
    assert clinic.db.store.keys.keys() == {("anonymous", "key-123")}


async def test_keys_are_scoped_per_caller(clinic: Clinic) -> None:
    anonymous = await clinic.book(1, key="key-1")
    desk = await clinic.book(2, slot(WED_10, practitioner="doctor2"), actor=DESK, key="key-1")

    assert desk.id != anonymous.id
    assert clinic.db.store.keys.keys() == {("anonymous", "key-1"), ("desk-1", "key-1")}
