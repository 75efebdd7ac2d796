"""Staff accounts' use cases on the in-memory unit of work (`support.fake_identity`): what a sign-
in checks and records. The races (one TOTP code in parallel, failures counted in SQL, parallel
bursts against the back-off) are the database's: tests/integration/test_identity_signin_races.py
and test_identity_signin_budget.py. The HTTP answers: test_identity_sessions.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.users.domain.passwords import Passwords
from support.fake_identity import FakeIdentity
from support.staff_accounts import PASSWORD, WRONG

# --- signing in --------------------------------------------------------------------------


async def test_signing_in_opens_a_session_and_records_the_success(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)

    opened, user = await identity.users.login("Desk", PASSWORD, None, address="10.0.0.1")

    assert opened.token.startswith("cfs_")
    assert opened.expires_at == identity.clock.now() + identity.lifetime
    owner = await identity.sessions.resolve(opened.token)
    assert (owner.kind, owner.user_id, owner.role) == ("staff", user.id, "front_desk")
    stored = identity.user("desk")
    assert stored.last_login_at == identity.clock.now()
    assert stored.failed_logins == 0


async def test_a_success_zeroes_the_failures_counted_since_the_last_one(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    for _ in range(3):
        with pytest.raises(TokenInvalid):
            await identity.users.login("desk", WRONG, None)
    assert identity.user("desk").failed_logins == 3

    await identity.users.login("desk", PASSWORD, None)

    assert identity.user("desk").failed_logins == 0


async def test_a_wrong_password_and_an_unknown_name_get_the_same_refusal(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)

    with pytest.raises(TokenInvalid) as wrong:
        await identity.users.login("desk", WRONG, None)
    with pytest.raises(TokenInvalid) as unknown:
        await identity.users.login("ghost", WRONG, None)

    assert wrong.value.detail == unknown.value.detail == "the username or password is wrong"
    assert identity.user("desk").failed_logins == 1
    assert identity.state.sessions == {}
    # Both names are charged alike by the back-off: the counters cannot tell them apart.
    attempts = {name: c.attempts for (name, _), c in identity.state.networks.items()}
    assert attempts == {"desk": 1, "ghost": 1}


async def test_a_disabled_account_cannot_sign_in_even_with_the_right_password(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    await identity.users.set_active("desk", False)

    with pytest.raises(TokenInvalid, match="username or password is wrong"):
        await identity.users.login("desk", PASSWORD, None)

    await identity.users.set_active("desk", True)
    assert (await identity.users.login("desk", PASSWORD, None))[0].token


async def test_a_hash_made_at_a_weaker_strength_is_rehashed_at_sign_in(
    identity: FakeIdentity,
) -> None:
    strong = dataclasses.replace(identity, passwords=Passwords("strong"), state=identity.state)
    await identity.users.create("desk", "front_desk", PASSWORD)  # hashed at the floor
    weak = identity.user("desk").password_hash

    await strong.users.login("desk", PASSWORD, None)

    rehashed = identity.user("desk").password_hash
    assert rehashed != weak
    assert not strong.passwords.needs_rehash(rehashed)
    assert strong.passwords.verify(rehashed, PASSWORD)
