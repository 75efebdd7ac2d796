"""Staff accounts' use cases on the in-memory unit of work (`support.fake_identity`): the
administrator's second factor (TOTP): asked for, accepted once, refused and counted, enrolled
again. The races (one TOTP code in parallel, failures counted in SQL, parallel bursts against
the back-off) are the database's: tests/integration/test_identity_signin_races.py and
test_identity_signin_budget.py. The HTTP answers: test_identity_sessions.py.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pyotp
import pytest

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.users.domain import totp
from clinicflow.identity.users.errors import SecondFactorRequired
from clinicflow.shared.errors import InvalidRequest
from support.fake_identity import FakeIdentity
from support.staff_accounts import PASSWORD, admin_secret

# --- the administrator's second factor ---------------------------------------------------


async def test_an_admin_without_the_code_is_asked_for_it_and_nothing_opens(
    identity: FakeIdentity,
) -> None:
    await admin_secret(identity)

    with pytest.raises(SecondFactorRequired, match="6-digit code"):
        await identity.users.login("boss", PASSWORD, None)

    assert identity.state.sessions == {}


async def test_an_admin_whose_seed_is_missing_is_told_to_enrol_one(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("boss", "admin", PASSWORD)
    boss = identity.user("boss")
    identity.state.users[boss.id] = dataclasses.replace(boss, totp_secret_enc=None)

    with pytest.raises(SecondFactorRequired, match="clinicflow users totp boss"):
        await identity.users.login("boss", PASSWORD, "123456")


async def test_a_code_is_accepted_once_and_the_next_step_s_code_after_it(
    identity: FakeIdentity,
) -> None:
    secret = await admin_secret(identity)
    code = totp.code_at(secret, identity.clock.now())

    opened, user = await identity.users.login("boss", PASSWORD, code)
    assert user.role == "admin"
    assert opened.token
    stored = identity.user("boss")
    assert stored.totp_last_step == totp.step_at(identity.clock.now())
    assert stored.totp_confirmed_at == identity.clock.now()

    with pytest.raises(TokenInvalid, match="already used"):
        await identity.users.login("boss", PASSWORD, code)
    assert identity.user("boss").failed_logins == 1

    identity.clock.advance(timedelta(seconds=30))
    assert await identity.users.login("boss", PASSWORD, totp.code_at(secret, identity.clock.now()))
    assert identity.user("boss").totp_confirmed_at == stored.totp_confirmed_at  # the first


@pytest.mark.parametrize("code", ["wrong", "12ab56", "1234567", " "])
async def test_a_wrong_or_malformed_code_is_refused_and_counted(
    identity: FakeIdentity, code: str
) -> None:
    secret = await admin_secret(identity)
    if code == "wrong":
        right = totp.code_at(secret, identity.clock.now())
        code = f"{(int(right) + 1) % 1_000_000:06d}"

    with pytest.raises(TokenInvalid, match="wrong or was already used"):
        await identity.users.login("boss", PASSWORD, code)

    assert identity.state.sessions == {}
    assert identity.user("boss").failed_logins == 1


async def test_a_missing_code_is_asked_for_not_counted_as_a_failure(
    identity: FakeIdentity,
) -> None:
    await admin_secret(identity)

    with pytest.raises(SecondFactorRequired):
        await identity.users.login("boss", PASSWORD, "")

    assert identity.user("boss").failed_logins == 0


async def test_enrolling_again_replaces_the_seed_and_forgets_the_last_step(
    identity: FakeIdentity,
) -> None:
    old = await admin_secret(identity)
    await identity.users.login("boss", PASSWORD, totp.code_at(old, identity.clock.now()))

    uri = await identity.users.enrol_totp("BOSS")

    new = pyotp.parse_uri(uri).secret
    assert new != old
    stored = identity.user("boss")
    assert (stored.totp_last_step, stored.totp_confirmed_at) == (None, None)
    identity.clock.advance(timedelta(seconds=30))
    with pytest.raises(TokenInvalid):
        await identity.users.login("boss", PASSWORD, totp.code_at(old, identity.clock.now()))
    assert await identity.users.login("boss", PASSWORD, totp.code_at(new, identity.clock.now()))


async def test_enrolling_an_unknown_user_is_refused(identity: FakeIdentity) -> None:
    with pytest.raises(InvalidRequest, match="no user named 'nobody'"):
        await identity.users.enrol_totp("nobody")
