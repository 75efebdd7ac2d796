"""Conversion on in-memory units of work: staff book an entry into its first visit (the
entry's open links closed, an offered slot's hold confirmed when it is the one booked), and
a payment marks the entry converted, once per event. (Through HTTP and booking's real
rules: tests/integration/test_waitlist_conversion.py and test_waitlist_launch_payment.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.waitlist.domain.slots import ClaimAsk, Slot
from clinicflow.waitlist.errors import EntryClosed, EntryNotFound, InvalidEntry
from support.fake_waitlist import (
    ADMIN,
    ANALYST,
    FRONT_DESK,
    FakeWaitlist,
    FreeSlot,
    SlotTaken,
    person,
)

WED_10 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 10:00 in Chicago
VISIT = ClaimAsk(WED_10, 20, "initial", "doctor1")


async def joined(fake: FakeWaitlist, n: int = 1) -> str:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(n, "alternative_medicine"))
    return made.id


async def offer_made(fake: FakeWaitlist) -> tuple[str, str]:
    """`VISIT`'s slot freed and offered to the one waiting: the offer's id and its hold's."""
    offered = await fake.waitlist.offers.slot_freed(
        Slot("alternative_medicine", "initial", 20, WED_10, "doctor1"), None
    )
    assert offered is not None
    return offered, fake.state.offers[offered].hold_id


async def test_front_desk_books_an_entry_into_its_first_visit(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    entry_id = await joined(fake)

    view, booked = await fake.waitlist.conversions.convert(FRONT_DESK, entry_id, VISIT)

    ((actor, slot, patient, hold),) = fake.desk.booked
    assert (actor, slot, hold) == (FRONT_DESK, Slot("alternative_medicine", "initial", 20,
                                                    WED_10, "doctor1"), None)  # fmt: skip
    assert (patient.first_name, patient.last_name, patient.email) == (
        "Wren1",
        "Halloway",
        "wren1@example.org",
    )
    assert (view.status, view.booking_id, view.patient_id) == (
        "booked",
        booked.id,
        "patient-wren1@example.org",
    )
    assert view.stages["booked"] == clock.now()
    assert view.standing.position is None  # off the queue
    converted = fake.events("waitlist.converted")
    assert [(e["entry_id"], e["via"], e["patient_id"]) for e in converted] == [
        (entry_id, "staff", "patient-wren1@example.org")
    ]
    assert ("convert", entry_id, "") in fake.audited()
    with pytest.raises(EntryClosed):  # booked: it has left the list
        await fake.waitlist.conversions.convert(FRONT_DESK, entry_id, VISIT)
    assert len(fake.desk.booked) == 1


@pytest.mark.parametrize(("actor", "refusal"), [(ANONYMOUS, Unauthenticated), (ANALYST, Forbidden)])
async def test_only_front_desk_and_admins_convert(
    fake: FakeWaitlist, actor: object, refusal: type[Exception]
) -> None:
    entry_id = await joined(fake)

    with pytest.raises(refusal):
        await fake.waitlist.conversions.convert(actor, entry_id, VISIT)  # type: ignore[arg-type]

    assert fake.desk.booked == []
    assert fake.state.entries[entry_id].status == "waiting"


async def test_a_refused_conversion_changes_nothing(fake: FakeWaitlist) -> None:
    entry_id = await joined(fake)
    other = await joined(fake, 2)
    await fake.waitlist.conversions.convert(ADMIN, other, VISIT)  # the slot is taken now
    published = list(fake.ledger.published)

    with pytest.raises(SlotTaken):
        await fake.waitlist.conversions.convert(FRONT_DESK, entry_id, VISIT)
    with pytest.raises(InvalidEntry, match="visit_type"):
        await fake.waitlist.conversions.convert(FRONT_DESK, entry_id, ClaimAsk(WED_10, None, "spa"))
    with pytest.raises(EntryNotFound):
        await fake.waitlist.conversions.convert(FRONT_DESK, "no-such-entry", VISIT)

    assert fake.state.entries[entry_id].status == "waiting"
    assert fake.ledger.published == published


async def test_converting_closes_the_entrys_open_invitation(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    fake.desk.slots = [FreeSlot(WED_10 + timedelta(days=5), WED_10 + timedelta(days=5, minutes=50),
                                ("counselor1",))]  # fmt: skip
    await fake.waitlist.launches.launch(ADMIN, "counseling")
    (invitation,) = fake.state.invitations.values()
    monday = ClaimAsk(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))

    view, _ = await fake.waitlist.conversions.convert(FRONT_DESK, made.id, monday)

    assert view.status == "booked"
    assert fake.state.invitations[invitation.id].status == "withdrawn"


async def test_converting_into_the_offered_slot_confirms_its_hold_and_lets_others_go(
    fake: FakeWaitlist,
) -> None:
    entry_id = await joined(fake)
    offered, hold_id = await offer_made(fake)

    _, booked = await fake.waitlist.conversions.convert(FRONT_DESK, entry_id, VISIT)

    assert booked.id == hold_id  # the hold became the booking
    assert fake.desk.booked[0][3] == hold_id
    offer = fake.state.offers[offered]
    assert (offer.status, offer.booking_id) == ("claimed", hold_id)
    assert fake.state.holds[hold_id].status == "confirmed"


async def test_converting_into_another_slot_withdraws_the_offer_and_releases_its_hold(
    fake: FakeWaitlist,
) -> None:
    entry_id = await joined(fake)
    offered, hold_id = await offer_made(fake)

    await fake.waitlist.conversions.convert(
        FRONT_DESK, entry_id, ClaimAsk(WED_10 + timedelta(hours=1), 20, "initial", "doctor1")
    )

    assert fake.state.offers[offered].status == "withdrawn"
    assert fake.state.holds[hold_id].status == "cancelled"
    assert "booking.hold_released" in fake.ledger.types()


async def test_an_entry_that_left_while_booking_gets_its_visit_cancelled(
    fake: FakeWaitlist,
) -> None:
    entry_id = await joined(fake)
    real_book = fake.desk.book

    async def withdrawn_meanwhile(*args: object) -> object:
        booked = await real_book(*args)  # type: ignore[arg-type]
        await fake.waitlist.entries.withdraw(ADMIN, entry_id)
        return booked

    fake.desk.book = withdrawn_meanwhile  # type: ignore[method-assign, assignment]

    with pytest.raises(EntryClosed, match="cancelled again"):
        await fake.waitlist.conversions.convert(FRONT_DESK, entry_id, VISIT)

    assert fake.desk.cancelled == [next(iter(fake.state.holds))]
    assert fake.state.entries[entry_id].status == "withdrawn"
    assert fake.events("waitlist.converted") == []


async def test_a_paid_visit_converts_its_entry_once_per_payment_event(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    entry_id = await joined(fake)
    other = await joined(fake, 2)
    _, booked = await fake.waitlist.conversions.convert(FRONT_DESK, entry_id, VISIT)
    clock.advance(timedelta(days=1))

    paid = await fake.waitlist.conversions.paid("waitlist_conversions", "event-1", [booked.id])
    again = await fake.waitlist.conversions.paid("waitlist_conversions", "event-1", [booked.id])
    other_payment = await fake.waitlist.conversions.paid(
        "waitlist_conversions", "event-2", [booked.id]
    )
    unrelated = await fake.waitlist.conversions.paid("waitlist_conversions", "event-3", ["b-x"])

    assert (paid, again, other_payment, unrelated) == (1, 0, 0, 0)
    entry = fake.state.entries[entry_id]
    assert (entry.status, entry.paid_at) == ("converted", clock.now())
    assert fake.state.entries[other].status == "waiting"
    assert [(e["entry_id"], e["booking_id"]) for e in fake.events("waitlist.paid")] == [
        (entry_id, booked.id)
    ]
    assert {("waitlist_conversions", f"event-{n}") for n in (1, 2, 3)} <= fake.state.inbox
