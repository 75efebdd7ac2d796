"""Booking's use cases on the in-memory unit of work (tests/support/fake_booking.py): the
rules of holding, booking, confirming a hold, rescheduling and the visit's life cycle, what
each publishes and audits, and that a refusal leaves nothing behind. No database, no app.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6), as in
the HTTP tests; config/clinic.yaml is the clinic.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clinicflow.booking import errors
from clinicflow.booking.availability.service import ANONYMOUS_OVERLAP, AvailabilityService
from clinicflow.booking.commands import BookRequest, SlotQuestion, SlotRequest
from clinicflow.booking.domain.calendars import TimeOffCalendar
from clinicflow.booking.domain.lifecycle import Action, Status
from clinicflow.booking.guard import BookingGuard
from clinicflow.booking.jobs import HoldRetention
from clinicflow.booking.service import BookingReader, BookingService
from clinicflow.booking.views import BookingView
from clinicflow.catalog import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.infra.outbox import Event
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import ANONYMOUS, Actor, Role, Scope
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, InvalidRequest, Unauthenticated
from support.fake_booking import FakeBooking
from support.fake_trail import FakeTrail

CATALOG: Catalog = load_catalog(Path(__file__).resolve().parents[3] / "config" / "clinic.yaml")
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CHICAGO = CATALOG.clinic.tz
WED_10 = datetime(2026, 11, 25, 10, 0, tzinfo=CHICAGO)
WED_1015 = datetime(2026, 11, 25, 10, 15, tzinfo=CHICAGO)
TWO_PM = datetime(2026, 11, 25, 14, 0, tzinfo=CHICAGO)
DESK = Actor(kind="user", id="desk-1", role=Role.FRONT_DESK)
ATTENDANT = Actor(
    kind="client", id="tablet", role=Role.CLIENT, scopes=frozenset({Scope.BOOKINGS_WRITE.value})
)


def person(n: int = 1) -> PatientDetails:
    return PatientDetails(f"Pat{n}", "Example", f"pat{n}@example.com", f"+1512555{n:04d}")


def slot(
    start: datetime = WED_10, practitioner: str | None = "doctor1", duration: int = 20
) -> SlotRequest:
    return SlotRequest("alternative_medicine", "initial", duration, start, practitioner)


@dataclass
class Clinic:
    """The use cases over one in-memory booking database."""

    db: FakeBooking = field(default_factory=FakeBooking)
    trail: FakeTrail = field(default_factory=FakeTrail)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))

    def __post_init__(self) -> None:
        guard = BookingGuard(self.trail)
        sources = [TimeOffCalendar(CATALOG)]
        units = self.db.units
        self.bookings = BookingService(
            uow=units,
            catalog=CATALOG,
            clock=self.clock,
            sources=sources,
            guard=guard,
            secret=b"s" * 32,
        )
        self.reader = BookingReader(uow=units, clock=self.clock, guard=guard)
        self.availability = AvailabilityService(
            uow=units, catalog=CATALOG, clock=self.clock, sources=sources
        )

    async def book(
        self,
        n: int = 1,
        at: SlotRequest | None = None,
        *,
        actor: Actor = ANONYMOUS,
        key: str | None = None,
        hold_id: str | None = None,
        patient: PatientDetails | None = None,
    ) -> BookingView:
        req = BookRequest(at or slot(), patient or person(n), hold_id)
        view, _ = await self.bookings.book(actor, req, key)
        return view

    @property
    def published(self) -> list[Event]:
        return self.db.ledger.published

    def types(self) -> list[str]:
        return self.db.ledger.types()


@pytest.fixture
def clinic() -> Clinic:
    return Clinic()


# --- booking ---------------------------------------------------------------------------


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


# --- holds -----------------------------------------------------------------------------


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


# --- idempotency -----------------------------------------------------------------------


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


# --- a lost race and a deadlock (the unit of work says which: booking/repository.py) ---


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


# --- reschedule ------------------------------------------------------------------------


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


# --- the visit's life cycle ------------------------------------------------------------


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


# --- reading ---------------------------------------------------------------------------


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


# --- retention -------------------------------------------------------------------------


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
