"""Freed-slot offers on in-memory units of work: the slot held and offered to the best-ranked
entry it suits, passed to the next when the window lapses and let go when nobody is left,
claimed once, and what each step publishes. (The SQL, the locks and two claims at the same
moment: tests/integration/test_waitlist_offers.py.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.domain.links import Offer, token_hash
from clinicflow.waitlist.domain.slots import Slot
from clinicflow.waitlist.errors import LinkClosed, LinkNotFound
from support.fake_waitlist import FRONT_DESK, PHI, FakeWaitlist, SlotTaken, person

WED_10 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 10:00 in Chicago
SLOT = Slot("alternative_medicine", "initial", 20, WED_10, "doctor1")
WED = [{"weekday": "wed", "start": "09:00", "end": "12:00"}]
THU = [{"weekday": "thu", "start": "09:00", "end": "12:00"}]


async def four_waiting(fake: FakeWaitlist) -> dict[str, str]:
    """The keenest prefer someone else, or another day: the slot does not suit them."""
    join = fake.waitlist.entries.join
    bodies = {
        "other_doctor": person(1, "alternative_medicine", interest_level=5,
                               preferred_practitioner="doctor2"),
        "thursdays": person(2, "alternative_medicine", interest_level=5, preferred_times=THU),
        "best": person(3, "alternative_medicine", interest_level=4),
        "next": person(4, "alternative_medicine", interest_level=3, preferred_times=WED),
    }  # fmt: skip
    return {name: (await join(ANONYMOUS, body)).id for name, body in bodies.items()}


async def offered(fake: FakeWaitlist) -> tuple[dict[str, str], str]:
    """`four_waiting`, and `SLOT` freed: offered to "best". Their ids, and the offer's."""
    ids = await four_waiting(fake)
    offer_id = await fake.waitlist.offers.slot_freed(SLOT, None)
    assert offer_id is not None
    return ids, offer_id


async def stopped_mid_claim(fake: FakeWaitlist) -> tuple[dict[str, str], Offer]:
    """`offered`, then as if a process stopped mid-claim: the offer marked claiming."""
    ids, offer_id = await offered(fake)
    fake.state.offers[offer_id] = replace(fake.state.offers[offer_id], status="claiming")
    return ids, fake.state.offers[offer_id]


def status(fake: FakeWaitlist, entry_id: str) -> str:
    return fake.state.entries[entry_id].status


async def test_a_freed_slot_is_held_and_offered_to_the_best_suited_entry(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    ids = await four_waiting(fake)

    offer_id = await fake.waitlist.offers.slot_freed(SLOT, "patient-who-cancelled")

    assert offer_id is not None
    offer = fake.state.offers[offer_id]
    assert (offer.entry_id, offer.status) == (ids["best"], "made")
    assert [status(fake, ids[k]) for k in ("best", "other_doctor", "thursdays", "next")] == [
        "offered", "waiting", "waiting", "waiting"
    ]  # fmt: skip
    hold = fake.state.holds[offer.hold_id]
    assert hold.status == "held"
    assert hold.expires_at == clock.now() + timedelta(minutes=30 + 5)  # the window and a slack
    assert offer.expires_at == clock.now() + timedelta(minutes=30)
    made = fake.events("waitlist.offer_made")
    assert [e["entry_id"] for e in made] == [ids["best"]]
    assert (made[0]["start"], made[0]["practitioner"]) == ("2026-11-25T16:00:00+00:00", "doctor1")
    assert fake.state.entries[ids["best"]].notified_at == clock.now()
    assert [to for to, _, _ in fake.messenger.sent] == ["wren3@example.org"]
    assert not [w for w in PHI if w in repr(fake.ledger.published)]


async def test_a_slot_too_close_nobody_suits_or_taken_again_is_not_held(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    assert await fake.waitlist.offers.slot_freed(SLOT, None) is None  # nobody waiting
    await four_waiting(fake)
    soon = Slot(
        "alternative_medicine", "initial", 20, clock.now() + timedelta(minutes=29), "doctor1"
    )
    assert await fake.waitlist.offers.slot_freed(soon, None) is None  # no time to claim it
    assert fake.state.holds == {}
    await fake.desk.hold(SLOT)  # booked (held) again meanwhile

    assert await fake.waitlist.offers.slot_freed(SLOT, None) is None

    assert fake.state.offers == {}
    assert fake.ledger.published[-1].type == "waitlist.joined"  # nothing after the joins


async def test_the_patient_whose_visit_was_cancelled_is_not_offered_it(
    fake: FakeWaitlist,
) -> None:
    pat = Actor(kind="patient", id="p-1", role=Role.PATIENT, patient_id="patient-1")
    mine = await fake.waitlist.entries.join(
        pat, person(1, "alternative_medicine", interest_level=5)
    )
    other = await fake.waitlist.entries.join(ANONYMOUS, person(2, "alternative_medicine"))

    offer_id = await fake.waitlist.offers.slot_freed(SLOT, "patient-1")

    assert offer_id is not None
    assert fake.state.offers[offer_id].entry_id == other.id
    assert status(fake, mine.id) == "waiting"


async def test_an_unclaimed_offer_passes_to_the_next_then_the_slot_is_let_go(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    ids, first = await offered(fake)
    hold_id = fake.state.offers[first].hold_id

    clock.advance(timedelta(minutes=29))
    assert await fake.waitlist.offers.expire_due(clock.now()) == 0
    clock.advance(timedelta(minutes=2))
    assert await fake.waitlist.offers.expire_due(clock.now()) == 1

    assert (status(fake, ids["best"]), status(fake, ids["next"])) == ("waiting", "offered")
    assert fake.state.offers[first].status == "expired"
    passed = next(o for o in fake.state.offers.values() if o.entry_id == ids["next"])
    assert (passed.hold_id, passed.status) == (hold_id, "made")  # the same hold, kept
    assert fake.state.holds[hold_id].status == "held"
    assert [e["entry_id"] for e in fake.events("waitlist.offer_expired")] == [ids["best"]]
    assert [to for to, _, _ in fake.messenger.sent][-1] == "wren4@example.org"

    clock.advance(timedelta(minutes=31))
    assert await fake.waitlist.offers.expire_due(clock.now()) == 1

    # Nobody left who was not offered this hold: it is let go, the slot open for anyone.
    assert status(fake, ids["next"]) == "waiting"
    assert fake.state.holds[hold_id].status == "cancelled"
    assert fake.ledger.types()[-1] == "booking.hold_released"
    assert len(fake.state.offers) == 2


async def test_a_claim_books_the_held_slot_for_the_entrys_person_once(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    ids, offer_id = await offered(fake)
    token = fake.messenger.link("wren3@example.org", "offers")

    done = await fake.waitlist.offers.claim(ANONYMOUS, token)

    hold_id = fake.state.offers[offer_id].hold_id
    assert (done.status, done.booking.id, done.booking.status) == ("booked", hold_id, "confirmed")
    ((_actor, slot, patient, used_hold),) = fake.desk.booked
    assert (slot, used_hold) == (SLOT, hold_id)
    assert (patient.first_name, patient.email) == ("Wren3", "wren3@example.org")
    offer = fake.state.offers[offer_id]
    assert (offer.status, offer.booking_id) == ("claimed", hold_id)
    entry = fake.state.entries[ids["best"]]
    assert (entry.status, entry.booking_id) == ("booked", hold_id)
    assert entry.patient_id == "patient-wren3@example.org"
    assert entry.booked_at == clock.now()
    assert entry.clicked_at == clock.now()
    converted = fake.events("waitlist.converted")
    assert [(e["entry_id"], e["via"], e["booking_id"]) for e in converted] == [
        (ids["best"], "offer", hold_id)
    ]
    assert ("claim", ids["best"], "") in fake.audited()  # the details were decrypted

    with pytest.raises(LinkClosed, match="already booked") as twice:
        await fake.waitlist.offers.claim(ANONYMOUS, token)
    assert twice.value.extra["link_status"] == "claimed"
    assert len(fake.desk.booked) == 1


async def test_a_signed_in_patient_claims_for_the_entry_not_as_themselves(
    fake: FakeWaitlist,
) -> None:
    await offered(fake)
    someone = Actor(kind="patient", id="p-9", role=Role.PATIENT, patient_id="patient-9")

    await fake.waitlist.offers.claim(someone, fake.messenger.link("wren3@example.org", "offers"))

    ((actor, _, patient, _),) = fake.desk.booked
    assert (actor.id, actor.patient_id) == ("p-9", None)  # the link's entry decides for whom
    assert patient.email == "wren3@example.org"


async def test_a_claim_after_the_window_is_refused_before_the_job_runs(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    await offered(fake)
    token = fake.messenger.link("wren3@example.org", "offers")
    clock.advance(timedelta(minutes=30))

    with pytest.raises(LinkClosed, match="its time ran out"):
        await fake.waitlist.offers.claim(ANONYMOUS, token)

    assert fake.desk.booked == []
    view = await fake.waitlist.offers.view(token)
    assert view.status == "expired"


async def test_a_refused_booking_opens_the_offer_again_and_converts_nothing(
    fake: FakeWaitlist,
) -> None:
    ids, offer_id = await offered(fake)
    token = fake.messenger.link("wren3@example.org", "offers")
    fake.desk.refuse = SlotTaken("booking says no")

    with pytest.raises(SlotTaken):  # booking's own error passes on
        await fake.waitlist.offers.claim(ANONYMOUS, token)

    assert fake.state.offers[offer_id].status == "made"
    assert status(fake, ids["best"]) == "offered"
    assert fake.events("waitlist.converted") == []
    done = await fake.waitlist.offers.claim(ANONYMOUS, token)  # and it can be claimed again
    assert done.status == "booked"


async def test_an_entry_that_left_cannot_claim_its_offer(fake: FakeWaitlist) -> None:
    ids, _ = await offered(fake)
    await fake.waitlist.entries.withdraw(FRONT_DESK, ids["best"])

    with pytest.raises(LinkClosed, match="withdrawn"):
        await fake.waitlist.offers.claim(
            ANONYMOUS, fake.messenger.link("wren3@example.org", "offers")
        )

    assert fake.desk.booked == []


async def test_looking_at_an_offer_counts_one_click_and_shows_no_phi(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    ids, _ = await offered(fake)
    token = fake.messenger.link("wren3@example.org", "offers")

    first = await fake.waitlist.offers.view(token)
    await fake.waitlist.offers.view(token)

    assert (first.status, first.start, first.practitioner) == ("made", WED_10, "doctor1")
    assert not [w for w in PHI if w in repr(first)]
    clicks = [e for e in fake.state.engagements if e[0] == ids["best"]]
    assert len(clicks) == 1
    assert fake.state.entries[ids["best"]].clicked_at == clock.now()
    for bad in ("x" * 43, "short", token + "!"):
        with pytest.raises(LinkNotFound):
            await fake.waitlist.offers.view(bad)


async def test_the_offers_job_finishes_a_claim_interrupted_after_booking_or_reopens_it(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    ids, offer = await stopped_mid_claim(fake)
    await fake.desk.book(ANONYMOUS, SLOT, _details(), offer.hold_id)  # the hold then confirmed

    clock.advance(timedelta(minutes=4))
    await fake.waitlist.offers.expire_due(clock.now())
    assert fake.state.offers[offer.id].status == "claiming"  # not stale yet
    clock.advance(timedelta(minutes=2))
    await fake.waitlist.offers.expire_due(clock.now())

    finished = fake.state.offers[offer.id]
    assert (finished.status, finished.booking_id) == ("claimed", offer.hold_id)
    assert status(fake, ids["best"]) == "booked"
    assert [e["via"] for e in fake.events("waitlist.converted")] == ["offer"]


async def test_a_stale_claim_with_no_booking_behind_it_is_opened_again(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    _, offer = await stopped_mid_claim(fake)

    clock.advance(timedelta(minutes=6))
    await fake.waitlist.offers.expire_due(clock.now())

    assert fake.state.offers[offer.id].status == "made"
    assert fake.events("waitlist.converted") == []
    assert fake.state.offers[offer.id].token_hash == token_hash(
        fake.messenger.link("wren3@example.org", "offers")
    )


def _details() -> PatientDetails:
    return PatientDetails("Wren3", "Halloway", "wren3@example.org", None)
