"""The waitlist entry's use cases on in-memory units of work: staff: changes and withdrawals by id
with a reason for the audit, who may list or change entries, every listed entry an audited read,
unknown services named; and an entry's columns. What each publishes and audits, and nothing on a
refusal. (The SQL behind them, the races and the HTTP answers:
tests/integration/test_waitlist_api.py.)
"""

from __future__ import annotations

import pytest

from clinicflow.shared.actor import ANONYMOUS, Actor
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.waitlist.domain.entry import Entry, NewEntry
from clinicflow.waitlist.errors import EntryNotFound, InvalidEntry
from clinicflow.waitlist.tables import entries
from support.fake_waitlist import ANALYST, FRONT_DESK, FakeWaitlist, person
from support.waitlist_callers import PATIENT, prefs

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
