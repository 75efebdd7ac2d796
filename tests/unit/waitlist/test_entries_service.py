"""The entry's use cases on in-memory units of work: joining once per service and person, a
repeat join that tells a stranger nothing, positions by score then join time, preferences,
withdrawal, the staff list — and what each publishes and audits, and nothing on a refusal.
(The SQL behind them, the races and the HTTP answers: tests/integration/test_waitlist_api.py.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.waitlist.domain.entry import Entry, NewEntry
from clinicflow.waitlist.domain.scoring import Component
from clinicflow.waitlist.entries.commands import Preferences, TimeWindow
from clinicflow.waitlist.entries.views import JoinResult, PublicView
from clinicflow.waitlist.errors import EntryClosed, EntryNotFound, InvalidEntry
from clinicflow.waitlist.tables import entries
from support.fake_waitlist import ANALYST, FRONT_DESK, PHI, FakeWaitlist, person

PATIENT = Actor(kind="patient", id="patient-7", role=Role.PATIENT, patient_id="patient-7")


def prefs(**given: object) -> Preferences:
    return Preferences(given=frozenset(given), **given)  # type: ignore[arg-type]


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


# --- positions ---------------------------------------------------------------------------


async def test_entries_rank_by_score_then_by_join_time(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    first = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    clock.advance(timedelta(hours=1))
    second = await fake.waitlist.entries.join(ANONYMOUS, person(2))
    keen = await fake.waitlist.entries.join(ANONYMOUS, person(3, interest_level=5))
    clock.advance(timedelta(days=200))  # both capped at the horizon: equal scores

    listed = await fake.waitlist.entries.listed(FRONT_DESK, "counseling")

    assert [v.id for v in listed.entries] == [keen.id, first.id, second.id]
    assert [v.standing.position for v in listed.entries] == [1, 2, 3]
    tied = [v.standing.score.total for v in listed.entries[1:]]
    assert tied[0] == tied[1]  # the earlier join goes first
    page = await fake.waitlist.entries.listed(FRONT_DESK, "counseling", limit=1, offset=1)
    assert [(v.id, v.standing.position) for v in page.entries] == [(first.id, 2)]


async def test_as_time_passes_the_wait_component_grows_and_can_reorder(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    early = await fake.waitlist.entries.join(ANONYMOUS, person(1, interest_level=3))
    clock.advance(timedelta(days=80))
    later = await fake.waitlist.entries.join(ANONYMOUS, person(2, interest_level=4))
    assert early.token is not None
    assert later.token is not None
    mine = fake.waitlist.entries.by_token

    before = await mine(early.token)
    assert (before.standing.position, (await mine(later.token)).standing.position) == (1, 2)
    assert _component(before, "wait_time").value == pytest.approx(80 / 90)
    clock.advance(timedelta(days=100))  # early is capped at 90 days; later keeps gaining

    after = await mine(early.token)
    assert (after.standing.position, (await mine(later.token)).standing.position) == (2, 1)
    assert _component(after, "wait_time").value == 1.0


def _component(view: PublicView, name: str) -> Component:
    return next(c for c in view.standing.score.components if c.name == name)


async def test_engagement_counts_once_per_reference_and_lifts_the_score(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    assert made.token is not None
    before = (await fake.waitlist.entries.by_token(made.token)).standing.score.total

    assert await fake.waitlist.entries.record_engagement(made.id, "clicked", clock.now(), "m-1")
    assert not await fake.waitlist.entries.record_engagement(made.id, "clicked", clock.now(), "m-1")

    fresh = await fake.waitlist.entries.by_token(made.token)
    clock.advance(timedelta(days=30))
    faded = await fake.waitlist.entries.by_token(made.token)

    # 1 − e^−0.5: one click, counted once; 1 − e^−0.25: half its weight after 30 days
    assert _component(fresh, "engagement").value == pytest.approx(0.3935, abs=1e-4)
    assert _component(faded, "engagement").value == pytest.approx(0.2212, abs=1e-4)
    assert _component(fresh, "engagement").reason.startswith("1 clicked")
    assert fresh.standing.score.total > before
    with pytest.raises(EntryNotFound):
        await fake.waitlist.entries.record_engagement("no-such-entry", "clicked", clock.now())


async def test_a_conversion_stage_is_stamped_once(fake: FakeWaitlist, clock: FixedClock) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    first = clock.now()

    assert await fake.waitlist.entries.stamp(made.id, "notified", first)
    assert not await fake.waitlist.entries.stamp(made.id, "notified", first + timedelta(days=1))
    assert fake.state.entries[made.id].notified_at == first


# --- the person's own entry, by token --------------------------------------------------


async def test_the_token_view_shows_the_standing_and_nothing_that_identifies(
    fake: FakeWaitlist,
) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1, phone="+15125550199"))
    assert made.token is not None

    seen = await fake.waitlist.entries.by_token(made.token)

    for secret in (*PHI, made.id):
        assert secret not in repr(seen)
    assert (seen.service, seen.status, seen.standing.position) == ("counseling", "waiting", 1)
    assert fake.audited() == [("create", made.id, "")]  # the view leaves no audit row


@pytest.mark.parametrize("token", ["short", "x" * 43, "not a token with spaces and more!!"])
async def test_an_unknown_or_malformed_token_is_one_not_found(
    fake: FakeWaitlist, token: str
) -> None:
    with pytest.raises(EntryNotFound) as missing:
        await fake.waitlist.entries.by_token(token)
    with pytest.raises(EntryNotFound) as changing:
        await fake.waitlist.entries.update_by_token(ANONYMOUS, token, prefs(interest_level=5))

    assert missing.value.detail == changing.value.detail
    assert fake.ledger.commits == 0


async def test_the_person_changes_preferences_and_withdraws_once(fake: FakeWaitlist) -> None:
    ahead = await fake.waitlist.entries.join(ANONYMOUS, person(1, interest_level=4))
    made = await fake.waitlist.entries.join(ANONYMOUS, person(2, interest_level=1))
    assert made.token is not None
    assert ahead.token is not None
    entries = fake.waitlist.entries

    keener = await entries.update_by_token(ANONYMOUS, made.token, prefs(interest_level=5))
    assert keener.standing.position == 1
    with pytest.raises(InvalidEntry):  # texts need a phone (and consent)
        await entries.update_by_token(ANONYMOUS, made.token, prefs(channels=("sms",)))
    gone = await entries.withdraw_by_token(ANONYMOUS, made.token)
    twice = await entries.withdraw_by_token(ANONYMOUS, made.token)
    with pytest.raises(EntryClosed):
        await entries.update_by_token(ANONYMOUS, made.token, prefs(interest_level=2))

    assert (gone.status, gone.standing.position, twice.status) == ("withdrawn", None, "withdrawn")
    assert (await entries.by_token(ahead.token)).standing.position == 1
    assert fake.ledger.types() == ["waitlist.joined", "waitlist.joined", "waitlist.withdrawn"]
    assert fake.events("waitlist.withdrawn")[0]["by"] == "person"
    actions = [a for a, i, _ in fake.audited() if i == made.id]
    assert actions == ["create", "update", "withdraw"]  # the refusals left nothing


async def test_preferences_change_times_practitioner_and_withdraw_sms_consent(
    fake: FakeWaitlist,
) -> None:
    made = await fake.waitlist.entries.join(
        ANONYMOUS,
        person(1, service="alternative_medicine", phone="+15125550142",
               channels=("email", "sms"), sms_consent=True),
    )  # fmt: skip
    assert made.token is not None
    window = {"weekday": "tue", "start": "17:00", "end": "19:00"}

    await fake.waitlist.entries.update_by_token(
        ANONYMOUS, made.token,
        prefs(preferred_practitioner="doctor1", preferred_times=(TimeWindow(**window),)),
    )  # fmt: skip
    await fake.waitlist.entries.update_by_token(ANONYMOUS, made.token, prefs(sms_consent=False))
    with pytest.raises(InvalidEntry, match="preferred_practitioner"):
        await fake.waitlist.entries.update_by_token(
            ANONYMOUS, made.token, prefs(preferred_practitioner="counselor1")
        )
    cleared = await fake.waitlist.entries.update(
        FRONT_DESK, made.id, prefs(preferred_practitioner=None)
    )

    entry = fake.state.entries[made.id]
    assert entry.preferred_times == [window]
    assert entry.channels["sms"]["opt_in"] is False  # withdrawing consent drops texts
    assert entry.channels["email"]["opt_in"] is True
    assert cleared.preferred_practitioner is None
    assert entry.version == 4  # three changes; the refused one changed nothing


# --- staff -----------------------------------------------------------------------------------


async def test_staff_change_and_withdraw_by_id_with_a_reason_for_the_audit(
    fake: FakeWaitlist,
) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1))

    changed = await fake.waitlist.entries.update(FRONT_DESK, made.id, prefs(interest_level=5))
    gone = await fake.waitlist.entries.withdraw(FRONT_DESK, made.id, "asked by phone")

    assert (changed.interest_level, changed.email) == (5, "wren1@example.org")
    assert gone.status == "withdrawn"
    assert fake.events("waitlist.withdrawn")[0]["by"] == "staff"
    assert ("withdraw", made.id, "asked by phone") in fake.audited()
    with pytest.raises(EntryNotFound):
        await fake.waitlist.entries.withdraw(FRONT_DESK, "no-such-entry")


@pytest.mark.parametrize(
    ("actor", "refusal"),
    [(ANONYMOUS, Unauthenticated), (ANALYST, Forbidden), (PATIENT, Forbidden)],
)
async def test_only_front_desk_and_admins_list_or_change_entries(
    fake: FakeWaitlist, actor: Actor, refusal: type[Exception]
) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    commits = fake.ledger.commits

    with pytest.raises(refusal):
        await fake.waitlist.entries.listed(actor)
    with pytest.raises(refusal):
        await fake.waitlist.entries.update(actor, made.id, prefs(interest_level=5))
    with pytest.raises(refusal):
        await fake.waitlist.entries.withdraw(actor, made.id)

    assert fake.state.entries[made.id].interest_level == 3
    assert fake.ledger.commits == commits
    denied = [(r.action, r.outcome) for r in fake.trail.rows if r.actor_id == actor.id]
    signed_in = [("list", "denied"), ("change", "denied"), ("change", "denied")]
    assert denied == ([] if actor is ANONYMOUS else signed_in)  # anonymous: nothing recorded


async def test_every_entry_staff_see_in_the_list_is_an_audited_read(fake: FakeWaitlist) -> None:
    ids = [(await fake.waitlist.entries.join(ANONYMOUS, person(n))).id for n in (1, 2, 3)]

    page = await fake.waitlist.entries.listed(FRONT_DESK, limit=2)

    shown = [v.id for v in page.entries]
    assert len(shown) == 2
    assert set(shown) <= set(ids)
    assert [(r.actor_id, r.action, r.access.resource_id, r.outcome) for r in fake.trail.rows] == [
        (FRONT_DESK.id, "read", i, "allowed") for i in shown
    ]
    assert page.entries[0].first_name is not None  # decrypted for staff


async def test_the_list_refuses_an_unknown_service_naming_the_known_ones(
    fake: FakeWaitlist,
) -> None:
    with pytest.raises(InvalidEntry, match="choose one of"):
        await fake.waitlist.entries.listed(FRONT_DESK, "astrology")


def test_an_entry_is_every_column_of_its_table_and_a_join_all_but_the_later_ones() -> None:
    """The repository builds `Entry(**row)`, and inserts a `NewEntry` with its token hash."""
    later = {"token_hash", "booking_id", "notified_at", "clicked_at", "booked_at", "paid_at",
             "version"}  # fmt: skip

    assert set(Entry.__dataclass_fields__) == set(entries.c.keys())
    assert set(NewEntry.__dataclass_fields__) == set(entries.c.keys()) - later
