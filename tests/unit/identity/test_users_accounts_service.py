"""Staff accounts' use cases on the in-memory unit of work (`support.fake_identity`): who may have
an account, what a password reset or a disabled account ends, and that account changes publish
no events today.
"""

from __future__ import annotations

import pytest

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.users.errors import UsernameTaken
from clinicflow.identity.users.service import TOTP_CONTEXT
from clinicflow.infra.crypto import DecryptionError
from clinicflow.shared.errors import InvalidRequest
from support.fake_identity import FakeIdentity
from support.staff_accounts import PASSWORD, WRONG, admin_secret

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
