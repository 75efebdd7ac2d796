"""The waitlist entry's use cases on in-memory units of work: joining once per service and person,
a repeat join that tells a stranger nothing, a lost race answered as a repeat, refusals naming
the field, the consent recorded. What each publishes and audits, and nothing on a refusal. (The
SQL behind them, the races and the HTTP answers: tests/integration/test_waitlist_api.py.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.shared.actor import ANONYMOUS, Actor
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.entries.views import JoinResult
from clinicflow.waitlist.errors import EntryNotFound, InvalidEntry
from support.fake_waitlist import FRONT_DESK, PHI, FakeWaitlist, person
from support.waitlist_callers import PATIENT


async def test_a_join_adds_a_waiting_entry_with_a_private_token_publishes_and_audits(
    fake: FakeWaitlist,
) -> None:
    joined = await fake.waitlist.entries.join(ANONYMOUS, person(1, interest_level=4))

    entry = fake.state.entries[joined.id]
    assert (entry.status, entry.service, joined.already_joined) == ("waiting", "counseling", False)
    assert joined.view.standing.position == 1
    # 0.75·0.3 + 0 (just joined) + 0 (no engagement) + 1·0.3 (the clinic's own ZIP)
    assert joined.view.standing.score.total == pytest.approx(0.525)
    assert joined.token is not None
    assert len(joined.token) >= 40
    assert (await fake.waitlist.entries.by_token(joined.token)).status == "waiting"
    assert fake.ledger.types() == ["waitlist.joined"]
    assert fake.events("waitlist.joined")[0]["entry_id"] == joined.id
    assert fake.audited() == [("create", joined.id, "")]
    assert fake.ledger.commits == 1


async def test_a_join_seals_the_details_and_keeps_only_zip3_and_distance_in_clear(
    fake: FakeWaitlist,
) -> None:
    joined = await fake.waitlist.entries.join(
        ANONYMOUS, person(1, zip="78613", phone="+15125550142")
    )

    entry = fake.state.entries[joined.id]
    stored = repr(entry)
    for secret in ("Wren1", "Halloway", "wren1@example.org", "+15125550142", "78613"):
        assert secret not in stored
    assert (entry.zip3, entry.distance_mi) == ("786", 17)
    assert fake.cipher.open(entry.email_enc, "email", entry.id) == "wren1@example.org"
    assert fake.cipher.open(entry.zip_enc, "zip", entry.id) == "78613"
    for secret in PHI:  # nor anything the event carries
        assert secret not in repr(fake.ledger.published)
    assert entry.token_hash != joined.token  # the database keeps the hash only


async def joined_twice(
    fake: FakeWaitlist, clock: FixedClock, days: int, *by: tuple[Actor, int]
) -> tuple[JoinResult, JoinResult]:
    """Person 1 joining, then `days` later again: each by (who, interest level)."""
    (first_by, first_level), (again_by, again_level) = by
    first = await fake.waitlist.entries.join(first_by, person(1, interest_level=first_level))
    clock.advance(timedelta(days=days))
    again = await fake.waitlist.entries.join(again_by, person(1, interest_level=again_level))
    return first, again


async def test_a_repeat_join_by_staff_answers_with_the_existing_entry_and_no_token(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    first, again = await joined_twice(fake, clock, 1, (ANONYMOUS, 2), (FRONT_DESK, 5))

    assert (again.id, again.already_joined, again.token) == (first.id, True, None)
    assert len(fake.state.entries) == 1
    assert fake.state.entries[first.id].interest_level == 2  # the first join's answers stand
    assert fake.ledger.types() == ["waitlist.joined"]  # nothing new published
    assert fake.audited() == [("create", first.id, ""), ("join_again", first.id, "")]
    assert again.then is None  # staff see it: nobody needs telling


async def test_the_patient_the_entry_belongs_to_sees_it_on_a_repeat_join(
    fake: FakeWaitlist,
) -> None:
    first = await fake.waitlist.entries.join(PATIENT, person(1))

    again = await fake.waitlist.entries.join(PATIENT, person(1))

    assert fake.state.entries[first.id].patient_id == "patient-7"
    assert (again.id, again.already_joined) == (first.id, True)


async def test_an_anonymous_repeat_join_looks_new_reveals_nothing_and_mails_the_person(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    first, repeat = await joined_twice(fake, clock, 3, (ANONYMOUS, 4), (ANONYMOUS, 2))
    new = await fake.waitlist.entries.join(ANONYMOUS, person(2, interest_level=2))

    assert repeat.id != first.id
    assert repeat.id not in fake.state.entries
    assert repeat.already_joined is False
    assert repeat.token is not None
    assert first.view.joined_at != repeat.view.joined_at  # not the real entry's date
    # Scored and placed as the caller's own answers would be as a new entry: like `new`.
    assert repeat.view.standing.score.total == new.view.standing.score.total
    assert repeat.view.standing.position == 2
    with pytest.raises(EntryNotFound):  # the stand-in token reaches nothing
        await fake.waitlist.entries.by_token(repeat.token)
    assert len(fake.state.entries) == 2
    assert fake.ledger.types() == ["waitlist.joined", "waitlist.joined"]  # first's and new's
    assert ("join_again", first.id, "") in fake.audited()
    assert repeat.then is not None
    assert fake.messenger.sent == []
    assert await repeat.then() == 1  # the person, not the caller, hears of it
    assert [to for to, _, _ in fake.messenger.sent] == ["wren1@example.org"]
    assert "already listed" in fake.messenger.sent[0][1]


async def test_a_join_that_loses_a_race_answers_as_a_repeat(fake: FakeWaitlist) -> None:
    other = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    fake.hooks.blind_once = True  # the other join commits after this one looked

    again = await fake.waitlist.entries.join(FRONT_DESK, person(1))

    assert (again.id, again.already_joined) == (other.id, True)
    assert list(fake.state.entries) == [other.id]
    assert fake.ledger.rollbacks >= 1  # the colliding insert rolled back …
    assert fake.ledger.types() == ["waitlist.joined"]  # … and published nothing


async def test_with_an_email_only_the_email_finds_a_repeat_and_without_one_the_phone(
    fake: FakeWaitlist,
) -> None:
    family = "+15125550142"
    parent = await fake.waitlist.entries.join(FRONT_DESK, person(1, phone=family))
    child = await fake.waitlist.entries.join(FRONT_DESK, person(2, phone=family))
    phone_only = await fake.waitlist.entries.join(
        FRONT_DESK, person(3, email=None, phone="+15125550199")
    )

    again = await fake.waitlist.entries.join(
        FRONT_DESK, person(4, email=None, phone="+15125550199")
    )

    assert parent.id != child.id  # a shared phone is not the same person
    assert (again.id, again.already_joined) == (phone_only.id, True)


async def test_after_withdrawing_joining_again_makes_a_new_entry(fake: FakeWaitlist) -> None:
    first = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    assert first.token is not None
    await fake.waitlist.entries.withdraw_by_token(ANONYMOUS, first.token)

    again = await fake.waitlist.entries.join(ANONYMOUS, person(1))

    assert again.id != first.id
    assert again.already_joined is False


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (person(1, service="astrology"), "service"),
        (person(1, service="alternative_medicine", preferred_practitioner="counselor1"),
         "preferred_practitioner"),
        (person(1, email=None), "email"),
        (person(1, channels=("sms",), phone="+15125550142"), "sms_consent"),
        (person(1, channels=("sms",)), "channels"),
    ],
)  # fmt: skip
async def test_a_refused_join_names_the_field_and_leaves_nothing_behind(
    fake: FakeWaitlist, req: object, field: str
) -> None:
    with pytest.raises(InvalidEntry) as refused:
        await fake.waitlist.entries.join(ANONYMOUS, req)  # type: ignore[arg-type]

    assert refused.value.detail.startswith(field)
    assert any(e["field"] == field for e in refused.value.extra["errors"])
    assert fake.state.entries == {}
    assert (fake.ledger.published, fake.ledger.audited, fake.ledger.commits) == ([], [], 0)


async def test_a_join_records_the_consent_it_was_given(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    joined = await fake.waitlist.entries.join(
        ANONYMOUS,
        person(1, phone="+15125550142", channels=("email", "sms"), sms_consent=True),
    )
    defaulted = await fake.waitlist.entries.join(
        ANONYMOUS, person(2, email=None, phone="+15125550143")
    )

    channels = fake.state.entries[joined.id].channels
    assert channels["sms"] == {"opt_in": True, "consent_at": clock.now().isoformat(),
                               "withdrawn_at": None}  # fmt: skip
    assert channels["email"]["opt_in"] is True
    # Without a choice: a call from the front desk, never texts.
    assert list(fake.state.entries[defaulted.id].channels) == ["phone"]
