"""The waitlist entry's use cases on in-memory units of work: the person's own entry, by token: the
standing and nothing that identifies, one not-found for unknown or malformed tokens, preferences
changed and withdrawal. What each publishes and audits, and nothing on a refusal. (The SQL
behind them, the races and the HTTP answers: tests/integration/test_waitlist_api.py.)
"""

from __future__ import annotations

import pytest

from clinicflow.shared.actor import ANONYMOUS
from clinicflow.waitlist.entries.commands import TimeWindow
from clinicflow.waitlist.errors import EntryClosed, EntryNotFound, InvalidEntry
from support.fake_waitlist import FRONT_DESK, PHI, FakeWaitlist, person
from support.waitlist_callers import prefs

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
