"""Staff accounts' use cases on the in-memory unit of work (`support.fake_identity`): the sign-in
back-off per network and per account. The races (one TOTP code in parallel, failures counted in
SQL, parallel bursts against the back-off) are the database's:
tests/integration/test_identity_signin_races.py and test_identity_signin_budget.py. The HTTP
answers: test_identity_sessions.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.users.domain.backoff import BackoffPolicy, SignInLimits
from clinicflow.identity.users.errors import SignInBackoff
from support.fake_identity import FakeIdentity
from support.staff_accounts import PASSWORD, WRONG

# --- the sign-in back-off ----------------------------------------------------------------


async def test_five_failures_are_free_then_the_network_waits_and_the_wait_doubles(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    for _ in range(5):
        with pytest.raises(TokenInvalid):
            await identity.users.login("desk", WRONG, None, address="10.0.0.1")

    with pytest.raises(SignInBackoff, match="try again in 30 seconds") as waiting:
        await identity.users.login("desk", PASSWORD, None, address="10.0.0.1")  # even right
    assert waiting.value.extra["retry_after"] == 30
    assert identity.user("desk").failed_logins == 5  # a refusal checks no password

    identity.clock.advance(timedelta(seconds=29))
    with pytest.raises(SignInBackoff) as later:
        await identity.users.login("desk", PASSWORD, None, address="10.0.0.1")
    assert later.value.extra["retry_after"] == 1

    identity.clock.advance(timedelta(seconds=1))
    with pytest.raises(TokenInvalid):
        await identity.users.login("desk", WRONG, None, address="10.0.0.1")
    with pytest.raises(SignInBackoff) as doubled:
        await identity.users.login("desk", PASSWORD, None, address="10.0.0.1")
    assert doubled.value.extra["retry_after"] == 60

    identity.clock.advance(timedelta(seconds=60))
    assert await identity.users.login("desk", PASSWORD, None, address="10.0.0.1")


async def test_a_refused_attempt_counts_nothing(identity: FakeIdentity) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    for _ in range(5):
        with pytest.raises(TokenInvalid):
            await identity.users.login("desk", WRONG, None, address="10.0.0.1")
    counted = identity.state.networks[("desk", "10.0.0.1")]
    rollbacks = identity.ledger.rollbacks

    for _ in range(3):
        with pytest.raises(SignInBackoff):
            await identity.users.login("desk", WRONG, None, address="10.0.0.1")

    assert identity.state.networks[("desk", "10.0.0.1")] == counted
    assert identity.ledger.rollbacks == rollbacks + 3


async def test_another_network_is_not_slowed_by_one_that_waits(identity: FakeIdentity) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    for _ in range(6):
        with pytest.raises((TokenInvalid, SignInBackoff)):
            await identity.users.login("desk", WRONG, None, address="10.0.0.66")

    assert await identity.users.login("desk", PASSWORD, None, address="10.0.0.77")
    with pytest.raises(SignInBackoff):  # the owner's success forgives the other place nothing
        await identity.users.login("desk", WRONG, None, address="10.0.0.66")


async def test_one_ipv6_64_is_one_network(identity: FakeIdentity) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    for n in range(5):
        with pytest.raises(TokenInvalid):
            await identity.users.login("desk", WRONG, None, address=f"2001:db8:0:7::{n + 1}")

    with pytest.raises(SignInBackoff):
        await identity.users.login("desk", PASSWORD, None, address="2001:db8:0:7:ab::4")
    assert await identity.users.login("desk", PASSWORD, None, address="2001:db8:0:8::1")


async def test_a_success_forgives_its_network_and_makes_it_known_as_a_keyed_hash(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    for _ in range(3):
        with pytest.raises(TokenInvalid):
            await identity.users.login("desk", WRONG, None, address="10.0.0.1")
    assert identity.state.accounts["desk"].attempts == 3

    await identity.users.login("desk", PASSWORD, None, address="10.0.0.1")

    assert ("desk", "10.0.0.1") not in identity.state.networks
    # The success's own charge to the account is refunded; the failures before it are not.
    assert identity.state.accounts["desk"].attempts == 3
    ((name, network_hash),) = identity.state.known
    assert name == "desk"
    assert "10.0.0" not in network_hash
    assert len(network_hash) == 64


async def test_many_networks_exhaust_the_account_but_not_for_its_known_network(
    identity: FakeIdentity,
) -> None:
    small = with_limits(identity, free=3, budget=10)
    await small.users.create("desk", "front_desk", PASSWORD)
    assert await small.users.login("desk", PASSWORD, None, address="10.5.0.1")  # usual place

    for n in range(5):
        for _ in range(2):
            with pytest.raises(TokenInvalid):
                await small.users.login("desk", WRONG, None, address=f"10.6.0.{n + 1}")
    with pytest.raises(SignInBackoff, match="not signed in from lately") as fresh:
        await small.users.login("desk", PASSWORD, None, address="10.6.0.99")
    assert fresh.value.extra["retry_after"] == 30

    assert await small.users.login("desk", PASSWORD, None, address="10.5.0.1")
    assert small.state.accounts["desk"].attempts == 10  # strangers' failures stay counted

    small.clock.advance(timedelta(days=31))  # a month on, the usual place is a stranger
    for n in range(5):
        for _ in range(2):
            with pytest.raises(TokenInvalid):
                await small.users.login("desk", WRONG, None, address=f"10.7.0.{n + 1}")
    with pytest.raises(SignInBackoff):
        await small.users.login("desk", PASSWORD, None, address="10.5.0.1")


async def test_quiet_counters_are_forgotten(identity: FakeIdentity) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    for _ in range(6):
        with pytest.raises((TokenInvalid, SignInBackoff)):
            await identity.users.login("desk", WRONG, None, address="10.0.0.1")

    identity.clock.advance(timedelta(days=1, seconds=1))
    pruned = await identity.users.prune(identity.clock.now())

    assert pruned == 2  # the network's counter and the account's
    assert identity.state.networks == {}
    assert identity.state.accounts == {}
    assert await identity.users.login("desk", PASSWORD, None, address="10.0.0.1")


def with_limits(identity: FakeIdentity, *, free: int, budget: int) -> FakeIdentity:
    """The same clock, new state, with `free` failures per network and `budget` per account."""
    limits = SignInLimits(
        address=BackoffPolicy(free_failures=free),
        account=BackoffPolicy(free_failures=budget, forget_after=timedelta(hours=1)),
    )
    return FakeIdentity(clock=identity.clock, limits=limits)
