"""Retention of withdrawn entries on an in-memory unit of work: deleted with what hangs off
them once the policy's days have passed since the withdrawal; live entries stay whatever
their age. (The SQL on both databases: tests/integration/test_waitlist_retention.py.)"""

from __future__ import annotations

from datetime import timedelta

from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.jobs import WaitlistRetention
from support.fake_waitlist import FRONT_DESK, FakeWaitlist, person

POLICY = RetentionPolicy()  # withdrawn entries: 365 days


async def test_withdrawn_entries_go_after_the_policy_days_with_what_hangs_off_them(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    gone = await fake.waitlist.entries.join(ANONYMOUS, person(1))
    staying = await fake.waitlist.entries.join(ANONYMOUS, person(2))
    await fake.waitlist.entries.record_engagement(gone.id, "clicked", clock.now(), "m-1")
    await fake.waitlist.entries.record_engagement(staying.id, "clicked", clock.now(), "m-2")
    await fake.waitlist.entries.withdraw(FRONT_DESK, gone.id)
    retention = WaitlistRetention(uow=fake.uow)

    clock.advance(timedelta(days=365))
    assert await retention.due(POLICY, clock.now()) == []  # not yet: strictly before
    clock.advance(timedelta(days=1))
    assert await retention.due(POLICY, clock.now()) == [gone.id]
    assert await retention.delete_due(POLICY, clock.now()) == [gone.id]

    assert list(fake.state.entries) == [staying.id]
    assert [e[0] for e in fake.state.engagements] == [staying.id]
    assert await retention.delete_due(POLICY, clock.now()) == []
    assert WaitlistRetention.cutoff(POLICY, clock.now()) == clock.now() - timedelta(days=365)
