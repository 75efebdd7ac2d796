"""Booking's use cases on the in-memory unit of work (support/fake_booking.py, driven by
support/booking_clinic.py): holding a slot, confirming the hold, a hold that lapses, and lapsed
holds deleted past retention. No database, no app. The clock stands at Tuesday 2026-11-24 09:00
in the clinic (America/Chicago, UTC-6); config/clinic.yaml is the clinic.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.booking import errors
from clinicflow.booking.jobs import HoldRetention
from support.booking_clinic import CATALOG, DESK, NOW, WED_10, WED_1015, Clinic, slot


async def test_a_hold_keeps_the_slot_for_the_clinics_hold_minutes(clinic: Clinic) -> None:
    held = await clinic.bookings.hold(slot())

    assert held.status == "held"
    assert held.hold_expires_at == NOW + timedelta(minutes=CATALOG.clinic.hold_minutes)
    assert held.patient_id is None
    assert held.actions == ("confirm", "cancel")
    assert clinic.types() == ["booking.held"]
    assert clinic.db.ledger.audited == []  # nobody's record is touched yet
    with pytest.raises(errors.SlotUnavailable):
        await clinic.book(2)


async def test_confirming_a_hold_books_that_very_row_for_the_patient(clinic: Clinic) -> None:
    held = await clinic.bookings.hold(slot())

    made = await clinic.book(1, hold_id=held.id)

    assert (made.id, made.status, made.hold_expires_at) == (held.id, "confirmed", None)
    assert made.patient_id == clinic.db.store.patients["pat1@example.com"]
    assert clinic.types() == ["booking.held", "booking.created"]
    assert [e.action for e, _ in clinic.db.ledger.audited] == ["create"]


async def test_a_hold_is_confirmed_only_for_what_it_holds(clinic: Clinic) -> None:
    held = await clinic.bookings.hold(slot())

    with pytest.raises(errors.HoldMismatch) as wrong:
        await clinic.book(1, slot(WED_1015), hold_id=held.id)
    with pytest.raises(errors.HoldNotFound):
        await clinic.book(1, hold_id="no-such-hold")

    assert wrong.value.extra == {"fields": ["start"]}
    assert clinic.types() == ["booking.held"]
    assert clinic.db.store.one().status == "held"
    assert clinic.db.store.patients == {}  # the rolled-back match made no record


async def test_a_lapsed_hold_frees_its_slot_and_cannot_be_confirmed(clinic: Clinic) -> None:
    held = await clinic.bookings.hold(slot())
    clinic.clock.advance(timedelta(minutes=11))

    with pytest.raises(errors.HoldExpired, match="expired at 2026-11-24T09:10:00-06:00"):
        await clinic.book(1, hold_id=held.id)
    taken = await clinic.book(2)

    assert taken.id != held.id
    assert clinic.db.store.appointments[held.id].status == "expired"  # marked on the way
    assert clinic.types() == ["booking.held", "booking.hold_expired", "booking.created"]
    assert [e.type for e in clinic.db.store.heard] == ["booking.held", "booking.created"]


async def test_a_lapsed_hold_reads_as_expired_before_anyone_marks_it(clinic: Clinic) -> None:
    held = await clinic.bookings.hold(slot())
    clinic.clock.advance(timedelta(minutes=10))

    seen = await clinic.reader.get(DESK, held.id)

    assert seen.status == "expired"
    assert clinic.db.store.appointments[held.id].status == "held"


async def test_only_lapsed_holds_past_retention_are_deleted(clinic: Clinic) -> None:
    held = await clinic.bookings.hold(slot())
    kept = await clinic.book(2, slot(WED_10, practitioner="doctor2"), key="k")
    retention = HoldRetention(uow=clinic.db.units)
    policy = CATALOG.retention
    later = NOW + timedelta(days=policy.expired_holds_days + 1)

    assert await retention.due(policy, NOW) == []
    assert await retention.due(policy, later) == [held.id]
    assert await retention.delete_due(policy, later) == [held.id]

    assert list(clinic.db.store.appointments) == [kept.id]
    assert clinic.db.store.keys.keys() == {("anonymous", "k")}
