"""Nurture on in-memory units of work: waiting entries hear from the clinic every
`nurture_days`, one message per step, and a click on its link counts once. (With SQL and
HTTP: tests/integration/test_waitlist_conversion.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.errors import LinkNotFound
from support.fake_waitlist import FRONT_DESK, PHI, FakeWaitlist, person


async def test_waiting_entries_hear_every_30_days_one_message_a_step(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    kept = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    gone = await fake.waitlist.entries.join(ANONYMOUS, person(2))
    by_phone = await fake.waitlist.entries.join(
        ANONYMOUS, person(3, email=None, phone="+15125550142")
    )
    await fake.waitlist.entries.withdraw(FRONT_DESK, gone.id)
    nurture = fake.waitlist.nurture

    clock.advance(timedelta(days=29))
    assert await nurture.send_due(clock.now()) == 0
    clock.advance(timedelta(days=1))
    assert await nurture.send_due(clock.now()) == 2  # the withdrawn one hears nothing
    assert await nurture.send_due(clock.now()) == 0

    due = fake.events("waitlist.nurture_due")
    assert sorted((e["entry_id"], e["seq"]) for e in due) == sorted(
        [(kept.id, 1), (by_phone.id, 1)]
    )
    assert [to for to, _, _ in fake.messenger.sent] == ["wren1@example.org"]  # email only
    assert not [w for w in PHI if w in repr(due)]
    clock.advance(timedelta(days=30))
    assert await nurture.send_due(clock.now()) == 2
    assert sorted(m.seq for m in fake.state.nurtures.values() if m.entry_id == kept.id) == [1, 2]


async def test_a_click_on_a_nurture_link_counts_once_and_stamps_the_stage(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    made = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    clock.advance(timedelta(days=30))
    await fake.waitlist.nurture.send_due(clock.now())
    token = fake.messenger.link("wren1@example.org", "t")

    first = await fake.waitlist.nurture.click(token)
    second = await fake.waitlist.nurture.click(token)

    assert (first.service, first.status, first.counted) == ("counseling", "waiting", True)
    assert second.counted is False
    assert len(fake.state.engagements) == 1
    entry = fake.state.entries[made.id]
    assert entry.clicked_at == clock.now()
    (message,) = fake.state.nurtures.values()
    assert message.clicked_at == clock.now()
    assert made.token is not None
    score = (await fake.waitlist.entries.by_token(made.token)).standing.score
    assert next(c for c in score.components if c.name == "engagement").value > 0
    for bad in ("x" * 43, "nope"):
        with pytest.raises(LinkNotFound):
            await fake.waitlist.nurture.click(bad)
