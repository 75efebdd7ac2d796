"""A signed-in patient's own entries (`EntryService.of_patient`), on in-memory units of work:
found by the contact details of the patient's record and by the link to the patient, with
the standing the entry's token shows (position, score parts, weights) and whether it is
still open; never another person's; only a patient may ask, for themselves; each entry shown
is an audited read, and a refusal leaves its row."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from support.fake_waitlist import ADMIN, ANALYST, FRONT_DESK, FakeWaitlist, person

ANA = Actor(kind="patient", id="patient-a", role=Role.PATIENT, patient_id="patient-a")
BEN = Actor(kind="patient", id="patient-b", role=Role.PATIENT, patient_id="patient-b")
ANA_EMAIL = "wren1@example.org"  # person(1)'s
BEN_EMAIL = "wren2@example.org"  # person(2)'s


def _alone(fake: FakeWaitlist) -> list[tuple[str, str, str, str]]:
    """(actor id, action, resource id, outcome) of the rows recorded on their own."""
    return [(r.actor_id, r.action, r.access.resource_id, r.outcome) for r in fake.trail.rows]


async def test_a_patient_sees_the_entries_joined_with_their_email_with_position_and_score(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    first = await fake.waitlist.entries.join(ANONYMOUS, person(2, interest_level=5))
    mine = await fake.waitlist.entries.join(ANONYMOUS, person(1, interest_level=2))
    clock.advance(timedelta(days=1))
    later = await fake.waitlist.entries.join(ANONYMOUS, person(1, "equine_therapy"))

    found = await fake.waitlist.entries.of_patient(ANA, ANA_EMAIL, None)

    assert [e.id for e in found] == [later.id, mine.id]  # newest first; not Ben's
    counseling = found[1]
    assert counseling.open is True
    assert (counseling.view.service, counseling.view.status) == ("counseling", "waiting")
    assert counseling.view.standing.position == 2  # behind the keener person 2
    token_view = await fake.waitlist.entries.by_token(str(mine.token))
    assert counseling.view == token_view  # what the private link shows, no more
    parts = {c.name for c in counseling.view.standing.score.components}
    assert parts == {"interest", "wait_time", "engagement", "location"}
    assert counseling.view.weights == WaitlistPolicy().weights.as_dict()
    assert first.id not in {e.id for e in found}
    assert ("patient-a", "read", mine.id, "allowed") in _alone(fake)
    assert ("patient-a", "read", later.id, "allowed") in _alone(fake)
    assert all(row[2] != first.id for row in _alone(fake))


async def test_patient_b_sees_only_their_own_and_nothing_of_a(fake: FakeWaitlist) -> None:
    a = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    b = await fake.waitlist.entries.join(ANONYMOUS, person(2))

    assert [e.id for e in await fake.waitlist.entries.of_patient(BEN, BEN_EMAIL, None)] == [b.id]
    assert [e.id for e in await fake.waitlist.entries.of_patient(ANA, ANA_EMAIL, None)] == [a.id]
    assert await fake.waitlist.entries.of_patient(ANA, "nobody@example.org", None) == []


async def test_entries_linked_to_the_patient_count_and_those_linked_to_another_do_not(
    fake: FakeWaitlist,
) -> None:
    # Joined while signed in, with an email the record no longer has: linked, so theirs.
    signed_in = await fake.waitlist.entries.join(ANA, person(3))
    # Ana's email, but the entry became another patient's (a conversion by the desk).
    other = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    fake.state.entries[other.id] = replace(fake.state.entries[other.id], patient_id="patient-c")

    found = await fake.waitlist.entries.of_patient(ANA, ANA_EMAIL, None)

    assert [e.id for e in found] == [signed_in.id]


async def test_with_an_email_only_the_email_decides_and_without_one_the_phone_does(
    fake: FakeWaitlist,
) -> None:
    phone = "+15125550142"
    # Someone in the family joined with the shared phone only.
    by_phone = await fake.waitlist.entries.join(ANONYMOUS, person(4, email=None, phone=phone))

    assert await fake.waitlist.entries.of_patient(ANA, ANA_EMAIL, phone) == []
    found = await fake.waitlist.entries.of_patient(ANA, None, phone)
    assert [e.id for e in found] == [by_phone.id]
    assert await fake.waitlist.entries.of_patient(ANA, None, None) == []


async def test_an_entry_that_left_the_list_shows_its_status_without_a_place(
    fake: FakeWaitlist,
) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    await fake.waitlist.entries.withdraw_by_token(ANONYMOUS, str(made.token))
    booked = await fake.waitlist.entries.join(ANONYMOUS, person(1, "equine_therapy"))
    fake.state.entries[booked.id] = replace(
        fake.state.entries[booked.id], status="booked", patient_id="patient-a"
    )
    commits = fake.ledger.commits

    found = {e.id: e for e in await fake.waitlist.entries.of_patient(ANA, ANA_EMAIL, None)}

    assert (found[made.id].view.status, found[made.id].open) == ("withdrawn", False)
    assert found[made.id].view.standing.position is None
    assert (found[booked.id].view.status, found[booked.id].open) == ("booked", False)
    assert found[booked.id].view.standing.score.components  # its score parts, still shown
    assert fake.ledger.commits == commits  # a read changes nothing


@pytest.mark.parametrize(
    ("actor", "refusal"),
    [
        (ANONYMOUS, Unauthenticated),
        (FRONT_DESK, Forbidden),
        (ADMIN, Forbidden),
        (ANALYST, Forbidden),
        (Actor(kind="patient", id="no-record", role=Role.PATIENT), Forbidden),
        (Actor(kind="user", id="odd", role=Role.PATIENT, patient_id="patient-a"), Forbidden),
    ],
)
async def test_only_a_signed_in_patient_may_ask_and_a_refusal_leaves_its_row(
    fake: FakeWaitlist, actor: Actor, refusal: type[Exception]
) -> None:
    await fake.waitlist.entries.join(ANONYMOUS, person(1))

    with pytest.raises(refusal):
        await fake.waitlist.entries.of_patient(actor, ANA_EMAIL, None)

    rows = [(a, r, o) for who, a, r, o in _alone(fake) if who == actor.id]
    assert rows == ([] if actor is ANONYMOUS else [("own", "*", "denied")])
