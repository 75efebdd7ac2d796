"""Feature flags' rules, on the in-memory unit of work: only admins read or change them, a
share is 0..100, defaults until set, a stable share of clients, and each process's cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.flags import FlagService, in_rollout
from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, InvalidRequest, Unauthenticated
from support.fake_flags import FlagRows, fake_flags

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
ADMIN = Actor(kind="user", id="admin-1", role=Role.ADMIN)
DESK = Actor(kind="user", id="desk-1", role=Role.FRONT_DESK)


def service(
    clock: FixedClock, table: FlagRows | None = None, ttl: float = 5
) -> tuple[FlagService, FlagRows]:
    uow, rows, _ = fake_flags(table)
    return FlagService(uow=uow, clock=clock, ttl=timedelta(seconds=ttl)), rows


async def test_before_any_change_the_platform_flags_read_as_their_defaults() -> None:
    flags, _ = service(FixedClock(NOW))
    listed = await flags.list(ADMIN)
    assert [(f.key, f.enabled, f.percentage, f.updated_by) for f in listed] == [
        ("paypal_backup", True, 100, None),
        ("waitlist_auto_offers", True, 100, None),
    ]
    assert await flags.is_enabled("paypal_backup")
    assert not await flags.is_enabled("never_heard_of", "client-1")  # unknown: off


async def test_only_an_admin_reads_or_changes_flags_and_a_refusal_changes_nothing() -> None:
    flags, table = service(FixedClock(NOW))
    with pytest.raises(Forbidden):
        await flags.list(DESK)
    with pytest.raises(Forbidden):
        await flags.set(DESK, "paypal_backup", False)
    with pytest.raises(Unauthenticated):
        await flags.set(ANONYMOUS, "paypal_backup", False)
    assert table.rows == {}
    assert await flags.is_enabled("paypal_backup")


@pytest.mark.parametrize("share", [-1, 101, 150])
async def test_a_share_outside_0_to_100_is_refused(share: int) -> None:
    flags, table = service(FixedClock(NOW))
    with pytest.raises(InvalidRequest, match="percentage"):
        await flags.set(ADMIN, "new_pages", True, share)
    assert table.rows == {}


async def test_a_change_is_stored_with_who_and_when_and_seen_here_at_once() -> None:
    clock = FixedClock(NOW)
    flags, table = service(clock)
    assert await flags.is_enabled("paypal_backup", "any-client")  # cached now
    changed = await flags.set(ADMIN, "paypal_backup", False)
    assert (changed.enabled, changed.updated_by, changed.updated_at) == (False, "admin-1", NOW)
    assert changed.description == "offer PayPal when Stripe is unavailable"  # its default text
    assert table.rows["paypal_backup"] == changed
    assert not await flags.is_enabled("paypal_backup", "any-client")  # no wait for the cache
    custom = await flags.set(ADMIN, "new_pages", True, 40, "the new pages")
    assert (custom.description, custom.percentage) == ("the new pages", 40)
    assert (await flags.set(ADMIN, "other", True)).description == ""  # no default text


async def test_a_partial_rollout_reaches_a_stable_share_of_clients() -> None:
    flags, _ = service(FixedClock(NOW))
    await flags.set(ADMIN, "new_pages", True, 30)
    clients = [f"client-{n}" for n in range(1000)]
    reached = [c for c in clients if await flags.is_enabled("new_pages", c)]
    assert 250 <= len(reached) <= 350
    assert reached == [c for c in clients if in_rollout("new_pages", c, 30)]  # stable
    assert set(reached) <= {c for c in clients if in_rollout("new_pages", c, 60)}  # only adds
    assert not await flags.is_enabled("new_pages", None)  # no client, no rollout
    await flags.set(ADMIN, "new_pages", False, 100)
    assert not any([await flags.is_enabled("new_pages", c) for c in clients[:50]])


async def test_another_replica_sees_a_change_within_its_cache_time_and_not_before() -> None:
    clock = FixedClock(NOW)
    here, table = service(clock)
    replica, _ = service(clock, table)  # the same table, its own cache
    assert await replica.is_enabled("waitlist_auto_offers")
    reads = table.reads
    await here.set(ADMIN, "waitlist_auto_offers", False)
    clock.advance(timedelta(seconds=4.9))
    assert await replica.is_enabled("waitlist_auto_offers")  # still its cached answer
    assert table.reads == reads + 1  # `here` re-read after its own change; the replica did not
    clock.advance(timedelta(seconds=0.1))
    assert not await replica.is_enabled("waitlist_auto_offers")
    assert (await replica.list(ADMIN))[1].enabled is False  # listing always reads afresh
