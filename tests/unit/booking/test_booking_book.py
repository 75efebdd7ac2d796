"""Booking's use cases on the in-memory unit of work (support/fake_booking.py, driven by
support/booking_clinic.py): booking a visit: what it takes, publishes and audits, the rules a
start must meet, the patient matched, the practitioner chosen, and that a refusal leaves nothing
behind. No database, no app. The clock stands at Tuesday 2026-11-24 09:00 in the clinic
(America/Chicago, UTC-6); config/clinic.yaml is the clinic.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.booking import errors
from clinicflow.booking.availability.service import ANONYMOUS_OVERLAP
from clinicflow.booking.commands import BookRequest
from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.errors import InvalidRequest
from support.booking_clinic import CHICAGO, DESK, NOW, TWO_PM, WED_10, WED_1015, Clinic, slot


async def test_a_booking_takes_the_slot_publishes_audits_and_tells_the_history(
    clinic: Clinic,
) -> None:
    made = await clinic.book()

    assert (made.status, made.practitioner) == ("confirmed", "doctor1")
    assert (made.start, made.end) == (WED_10, WED_10 + timedelta(minutes=20))
    assert made.actions == ("reschedule", "cancel", "check-in", "no-show")
    stored = clinic.db.store.one()
    assert stored.block_end == (WED_10 + timedelta(minutes=25)).astimezone(UTC)  # 5 min after
    assert clinic.types() == ["booking.created"]
    payload = clinic.published[0].payload
    assert (payload["booking_id"], payload["patient_id"]) == (made.id, made.patient_id)
    assert payload["start"] == WED_10.astimezone(UTC).isoformat()
    ((entry, at),) = clinic.db.ledger.audited
    assert (entry.action, entry.resource_id, entry.patient_id) == (
        "create",
        made.id,
        made.patient_id,
    )
    assert (entry.actor_type, at) == ("anonymous", NOW)
    assert [e.type for e in clinic.db.store.heard] == ["booking.created"]
    assert clinic.db.ledger.commits == 1


async def test_a_returning_patient_is_matched_and_a_new_one_made(clinic: Clinic) -> None:
    first = await clinic.book(1)
    again = await clinic.book(1, slot(datetime(2026, 11, 27, 10, 0, tzinfo=CHICAGO)))
    other = await clinic.book(2, slot(datetime(2026, 11, 27, 11, 0, tzinfo=CHICAGO)))

    assert again.patient_id == first.patient_id
    assert other.patient_id not in (None, first.patient_id)


async def test_a_signed_in_patient_books_for_themselves_and_an_anonymous_caller_must_say_who(
    clinic: Clinic,
) -> None:
    me = Actor(kind="patient", id="link-1", role=Role.PATIENT, patient_id="p-42")
    view, replayed = await clinic.bookings.book(me, BookRequest(slot(), None), None)
    with pytest.raises(InvalidRequest, match="give the patient's name"):
        await clinic.bookings.book(ANONYMOUS, BookRequest(slot(TWO_PM), None), None)

    assert (view.patient_id, replayed) == ("p-42", False)
    assert clinic.db.store.patients == {}  # the matcher was not asked
    assert clinic.types() == ["booking.created"]


async def test_overlapping_visits_of_one_practitioner_are_refused_and_leave_nothing(
    clinic: Clinic,
) -> None:
    await clinic.book(1)

    with pytest.raises(errors.SlotUnavailable, match="already taken"):
        await clinic.book(2, slot(WED_1015, duration=15))  # inside 10:00-10:25 (buffer)

    assert len(clinic.db.store.appointments) == 1
    assert clinic.types() == ["booking.created"]
    assert len(clinic.db.ledger.audited) == 1
    assert list(clinic.db.store.patients) == ["pat1@example.com"]  # no record for the loser
    assert clinic.db.ledger.rollbacks == 1


@pytest.mark.parametrize(
    ("start", "error", "says"),
    [
        (datetime(2026, 11, 25, 7, 0, tzinfo=CHICAGO), errors.OutsideWorkingHours, "outside"),
        (datetime(2026, 11, 24, 10, 0, tzinfo=CHICAGO), errors.TooLittleNotice, "11:00:00"),
        (datetime(2027, 6, 1, 10, 0, tzinfo=CHICAGO), errors.TooFarAhead, "2027-02-22"),
    ],
)
async def test_a_start_outside_the_rules_is_refused_saying_what_is_allowed(
    clinic: Clinic, start: datetime, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        await clinic.book(at=slot(start))
    assert clinic.published == []
    assert clinic.db.store.appointments == {}


async def test_the_request_is_checked_against_the_catalog_before_anything_is_read(
    clinic: Clinic,
) -> None:
    for bad, error in [
        (replace(slot(), service="acupuncture"), errors.UnknownService),
        (replace(slot(), service="weight_loss"), errors.ServiceNotBookable),
        (replace(slot(), visit_type="annual"), errors.UnknownVisitType),
        (replace(slot(), duration=45), errors.DurationNotAllowed),
        (replace(slot(), practitioner="nobody"), errors.UnknownPractitioner),
        (replace(slot(), practitioner="gaps_coach"), errors.PractitionerNotEligible),
    ]:
        with pytest.raises(error):
            await clinic.book(at=bad)
    assert clinic.db.store.locks_asked == []
    assert clinic.published == []


async def test_a_patient_cannot_be_in_two_visits_at_once_and_anonymous_callers_learn_nothing(
    clinic: Clinic,
) -> None:
    await clinic.book(1)  # 10:00-10:20 with doctor1
    elsewhere = slot(WED_1015, practitioner="doctor2", duration=15)
    before_it = slot(datetime(2026, 11, 25, 9, 45, tzinfo=CHICAGO), practitioner="doctor2")

    refusals = []
    for at in (elsewhere, before_it):
        with pytest.raises(errors.PatientUnavailable) as refused:
            await clinic.book(1, at)
        refusals.append(refused.value.detail)
    with pytest.raises(errors.PatientUnavailable) as staff:
        await clinic.book(1, elsewhere, actor=DESK)

    assert refusals == [ANONYMOUS_OVERLAP, ANONYMOUS_OVERLAP]  # the same, whichever collided
    assert WED_1015.isoformat() in staff.value.detail
    assert clinic.types() == ["booking.created"]
    assert len(clinic.db.store.appointments) == 1


async def test_the_least_booked_practitioner_is_chosen_and_then_chosen_again(
    clinic: Clinic,
) -> None:
    for n, who in enumerate(["doctor1", "doctor2", "nurse"], start=10):
        await clinic.book(n, slot(TWO_PM, practitioner=who))

    fresh = await clinic.book(20, slot(practitioner=None))
    clinic.clock.advance(timedelta(days=2))
    next_week = await clinic.book(20, slot(datetime(2026, 12, 2, 10, 0, tzinfo=CHICAGO), None))

    assert fresh.practitioner == "nurse2"  # the only one with nothing booked that day
    assert next_week.practitioner == "nurse2"  # continuity of care before the day's load
