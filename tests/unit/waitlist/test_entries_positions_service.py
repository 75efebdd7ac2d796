"""The waitlist entry's use cases on in-memory units of work: positions by score then join time,
the wait component growing with time, engagement counted once per reference, a conversion stage
stamped once. What each publishes and audits, and nothing on a refusal. (The SQL behind them,
the races and the HTTP answers: tests/integration/test_waitlist_api.py.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.domain.scoring import Component
from clinicflow.waitlist.entries.views import PublicView
from clinicflow.waitlist.errors import EntryNotFound
from support.fake_waitlist import FRONT_DESK, FakeWaitlist, person

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
