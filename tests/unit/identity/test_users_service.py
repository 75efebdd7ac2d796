"""Staff accounts' use cases on the in-memory unit of work: who may have an account, what a
sign-in checks and records, and what a password reset or a disabled account ends.

The races (one TOTP code in parallel, failures counted in SQL, parallel bursts against the
back-off) are the database's: tests/integration/test_identity_signin_races.py and
test_identity_signin_budget.py. The HTTP answers: test_identity_sessions.py.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pyotp
import pytest

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.users.domain import totp
from clinicflow.identity.users.domain.backoff import BackoffPolicy, SignInLimits
from clinicflow.identity.users.domain.passwords import Passwords
from clinicflow.identity.users.errors import SecondFactorRequired, SignInBackoff, UsernameTaken
from clinicflow.identity.users.service import TOTP_CONTEXT
from clinicflow.infra.crypto import DecryptionError
from clinicflow.shared.errors import InvalidRequest
from support.fake_identity import FakeIdentity

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


async def admin_secret(identity: FakeIdentity, name: str = "boss") -> str:
    made = await identity.users.create(name, "admin", PASSWORD)
    assert made.totp_uri is not None
    secret: str = pyotp.parse_uri(made.totp_uri).secret
    return secret


# --- who may have an account -------------------------------------------------------------


async def test_a_new_account_is_stored_lower_cased_with_a_hash_never_the_password(
    identity: FakeIdentity,
) -> None:
    made = await identity.users.create("  Desk ", "front_desk", PASSWORD)

    stored = identity.user("desk")
    assert (made.user.username, made.user.role, made.user.active) == ("desk", "front_desk", True)
    assert made.user.id == stored.id
    assert made.totp_uri is None
    assert stored.totp_secret_enc is None
    assert PASSWORD not in stored.password_hash
    assert identity.passwords.verify(stored.password_hash, PASSWORD)
    assert identity.ledger.commits == 1


@pytest.mark.parametrize(
    ("username", "role", "password", "practitioner", "complaint"),
    [
        ("desk", "front_desk", "short", None, "Use at least 12 characters"),
        ("desk", "front_desk", "my desk password 1", None, "username in your password"),
        ("desk", "front_desk", "a" * 12, None, "more than one distinct character"),
        ("", "front_desk", PASSWORD, None, "username: 1 to 64 characters"),
        ("x" * 65, "front_desk", PASSWORD, None, "username: 1 to 64 characters"),
        ("pat", "patient", PASSWORD, None, "role: one of admin, analyst"),
        ("root", "superuser", PASSWORD, None, "role: one of"),
        ("doc", "practitioner", PASSWORD, None, "needs the key of their calendar"),
        ("doc", "practitioner", PASSWORD, "doctor9", "one of doctor1, doctor2"),
    ],
)
async def test_an_account_the_rules_refuse_is_not_created(
    identity: FakeIdentity,
    username: str,
    role: str,
    password: str,
    practitioner: str | None,
    complaint: str,
) -> None:
    with pytest.raises(InvalidRequest, match=complaint):
        await identity.users.create(username, role, password, practitioner=practitioner)

    assert identity.state.users == {}
    assert identity.ledger.commits == 0


async def test_a_practitioner_account_names_its_calendar(identity: FakeIdentity) -> None:
    made = await identity.users.create("doc", "practitioner", PASSWORD, practitioner="doctor1")

    assert made.user.practitioner == "doctor1"


async def test_a_taken_username_is_a_conflict_and_changes_nothing(identity: FakeIdentity) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)

    with pytest.raises(UsernameTaken, match="already exists") as raised:
        await identity.users.create("DESK", "billing", PASSWORD)

    assert raised.value.status == 409
    assert [u.role for u in identity.state.users.values()] == ["front_desk"]


async def test_an_admin_always_gets_a_second_factor_others_when_asked(
    identity: FakeIdentity,
) -> None:
    admin = await identity.users.create("boss", "admin", PASSWORD)
    desk = await identity.users.create("desk", "front_desk", PASSWORD)
    asked = await identity.users.create("bill", "billing", PASSWORD, with_totp=True)

    assert admin.totp_uri is not None
    assert admin.totp_uri.startswith("otpauth://totp/")
    assert "issuer=Clinic%20Test" in admin.totp_uri
    assert desk.totp_uri is None
    assert asked.totp_uri is not None
    assert [u.totp_enrolled for u in await identity.users.list()] == [True, True, False]


async def test_the_totp_seed_is_sealed_and_bound_to_its_account(identity: FakeIdentity) -> None:
    secret = await admin_secret(identity)
    stored = identity.user("boss")

    assert stored.totp_secret_enc is not None
    assert secret not in stored.totp_secret_enc
    opened = identity.keys.decrypt(stored.totp_secret_enc, context=TOTP_CONTEXT, row=stored.id)
    assert opened == secret
    with pytest.raises(DecryptionError):  # a seed copied to another account does not open
        identity.keys.decrypt(stored.totp_secret_enc, context=TOTP_CONTEXT, row="another-user")


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


# --- changing a password, disabling an account -------------------------------------------


async def test_a_password_reset_keeps_the_policy(identity: FakeIdentity) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    before = identity.user("desk").password_hash

    with pytest.raises(InvalidRequest, match="username in your password"):
        await identity.users.reset_password("desk", "desk desk desk desk")

    assert identity.user("desk").password_hash == before


async def test_a_password_reset_ends_the_sessions_and_zeroes_the_failures_not_the_back_off(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    opened, _ = await identity.users.login("desk", PASSWORD, None)
    for _ in range(2):
        with pytest.raises(TokenInvalid):
            await identity.users.login("desk", WRONG, None, address="10.9.9.9")
    new_password = "a whole new passphrase"

    await identity.users.reset_password("Desk", new_password)

    with pytest.raises(TokenInvalid, match="signed out"):
        await identity.sessions.resolve(opened.token)
    assert identity.user("desk").failed_logins == 0
    assert identity.state.networks[("desk", "10.9.9.9")].attempts == 2  # whoever guessed
    with pytest.raises(TokenInvalid):
        await identity.users.login("desk", PASSWORD, None)
    assert await identity.users.login("desk", new_password, None)


async def test_a_password_reset_of_an_unknown_user_is_refused(identity: FakeIdentity) -> None:
    with pytest.raises(InvalidRequest, match="no user named 'ghost'"):
        await identity.users.reset_password("ghost", PASSWORD)


async def test_disabling_an_account_ends_its_sessions_and_only_its_own(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    await identity.users.create("bill", "billing", PASSWORD)
    desk, _ = await identity.users.login("desk", PASSWORD, None)
    bill, _ = await identity.users.login("bill", PASSWORD, None)

    await identity.users.set_active("desk", False)

    with pytest.raises(TokenInvalid, match="signed out"):
        await identity.sessions.resolve(desk.token)
    assert (await identity.sessions.resolve(bill.token)).role == "billing"
    assert [(u.username, u.active) for u in await identity.users.list()] == [
        ("bill", True),
        ("desk", False),
    ]


async def test_disabling_an_unknown_user_is_refused(identity: FakeIdentity) -> None:
    with pytest.raises(InvalidRequest, match="no user named 'nobody'"):
        await identity.users.set_active("nobody", False)


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


async def test_account_changes_publish_no_events_and_write_no_audit_entries(
    identity: FakeIdentity,
) -> None:
    """Identity's changes leave no events or audit entries today; this says so, so that adding
    them is a visible decision (and this test its place)."""
    await identity.users.create("desk", "front_desk", PASSWORD)
    await identity.users.login("desk", PASSWORD, None)
    await identity.users.reset_password("desk", "a whole new passphrase")
    await identity.users.set_active("desk", False)
    await identity.api_keys.create("sync", "qa", ["bookings:read"])

    assert identity.ledger.commits >= 5
    assert identity.ledger.published == []
    assert identity.ledger.audited == []
