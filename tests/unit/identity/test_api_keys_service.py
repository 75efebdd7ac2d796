"""API keys' use cases on the in-memory unit of work: what a key may be, what checking one
records, and revocation and rotation with their grace period.

Over HTTP (the `X-API-Key` header, 401/403 answers): tests/integration/test_identity_tokens.py;
from the CLI: tests/e2e/test_identity_cli.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinicflow.identity.domain.tokens import digest
from clinicflow.identity.errors import TokenInvalid
from clinicflow.shared.errors import InvalidRequest, NotFound
from support.fake_identity import FakeIdentity


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


async def test_a_key_is_shown_once_and_only_its_secret_s_digest_is_kept(
    identity: FakeIdentity,
) -> None:
    view, full = await identity.api_keys.create(
        "scheduler", "qa", ["patients:read", "bookings:read", "bookings:read"]
    )

    prefix, key_id, secret = full.split("_", 2)
    assert (prefix, key_id) == ("cfk", view.id)
    assert len(key_id) == 12
    assert len(secret) >= 20
    assert view.scopes == ("bookings:read", "patients:read")  # sorted, once each
    assert (view.tier, view.last_used_at, view.revoked_at) == ("standard", None, None)
    stored = identity.state.api_keys[key_id]
    assert stored.secret_hash == digest(secret)
    assert secret not in repr(stored)


@pytest.mark.parametrize(
    ("name", "owner", "scopes", "tier", "complaint"),
    [
        ("", "qa", ["bookings:read"], "standard", "name: 1 to 100"),
        ("x" * 101, "qa", ["bookings:read"], "standard", "name: 1 to 100"),
        ("sync", "", ["bookings:read"], "standard", "owner: 1 to 100"),
        ("sync", "qa", ["bookings:read", "admin"], "standard", r"scopes \['admin'\] unknown"),
        ("sync", "qa", ["bookings:read"], "Gold Tier", "tier: lower-case"),
    ],
)
async def test_a_key_the_rules_refuse_is_not_created(
    identity: FakeIdentity,
    name: str,
    owner: str,
    scopes: list[str],
    tier: str,
    complaint: str,
) -> None:
    with pytest.raises(InvalidRequest, match=complaint):
        await identity.api_keys.create(name, owner, scopes, tier)

    assert identity.state.api_keys == {}


async def test_a_key_authenticates_as_itself_and_its_use_is_recorded_once_a_minute(
    identity: FakeIdentity,
) -> None:
    view, full = await identity.api_keys.create("sync", "qa", ["bookings:read"], "partner")

    found = await identity.api_keys.authenticate(full)

    assert (found.id, found.scopes, found.tier) == (view.id, ("bookings:read",), "partner")
    first = identity.state.api_keys[view.id].last_used_at
    assert first == identity.clock.now()
    identity.clock.advance(timedelta(seconds=59))
    await identity.api_keys.authenticate(full)
    assert identity.state.api_keys[view.id].last_used_at == first
    identity.clock.advance(timedelta(seconds=1))
    await identity.api_keys.authenticate(full)
    assert identity.state.api_keys[view.id].last_used_at == identity.clock.now()


@pytest.mark.parametrize("presented", ["cfk_short_x", "not-a-key", "cfk_ABCDEFGHJKLM"])
async def test_a_malformed_key_is_refused(identity: FakeIdentity, presented: str) -> None:
    with pytest.raises(TokenInvalid, match="malformed API key"):
        await identity.api_keys.authenticate(presented)


async def test_a_wrong_secret_or_an_unknown_id_is_refused_alike(identity: FakeIdentity) -> None:
    view, _ = await identity.api_keys.create("sync", "qa", ["bookings:read"])

    with pytest.raises(TokenInvalid) as wrong:
        await identity.api_keys.authenticate(f"cfk_{view.id}_wrong-secret-of-enough-length")
    with pytest.raises(TokenInvalid) as unknown:
        await identity.api_keys.authenticate("cfk_ABCDEFGHJKLM_wrong-secret-of-enough-length")

    assert wrong.value.detail == unknown.value.detail == "unknown API key or client credentials"
    assert identity.state.api_keys[view.id].last_used_at is None


async def test_a_revoked_key_is_refused_at_once(identity: FakeIdentity) -> None:
    view, full = await identity.api_keys.create("sync", "qa", ["bookings:read"])

    revoked = await identity.api_keys.revoke(view.id)

    assert revoked.revoked_at == identity.clock.now()
    assert not revoked.active(identity.clock.now())
    with pytest.raises(TokenInvalid, match="was revoked"):
        await identity.api_keys.authenticate(full)
    with pytest.raises(TokenInvalid, match="its tokens no longer work"):
        await identity.api_keys.active_client(view.id)


async def test_a_later_revocation_does_not_postpone_an_earlier_one(
    identity: FakeIdentity,
) -> None:
    view, _ = await identity.api_keys.create("sync", "qa", ["bookings:read"])
    at_once = await identity.api_keys.revoke(view.id)

    later = await identity.api_keys.revoke(view.id, after=timedelta(days=1))

    assert later.revoked_at == at_once.revoked_at


async def test_revoking_an_unknown_key_is_not_found(identity: FakeIdentity) -> None:
    with pytest.raises(NotFound, match="no API key 'ABCDEFGHJKLM'"):
        await identity.api_keys.revoke("ABCDEFGHJKLM")


async def test_rotation_keeps_the_old_key_through_the_grace_period(
    identity: FakeIdentity,
) -> None:
    old, old_full = await identity.api_keys.create(
        "sync", "qa", ["bookings:read", "patients:read"], "partner"
    )

    new, new_full = await identity.api_keys.rotate(old.id, timedelta(hours=1))

    assert new.id != old.id
    assert (new.name, new.owner, new.scopes, new.tier) == (
        "sync",
        "qa",
        ("bookings:read", "patients:read"),
        "partner",
    )
    stored = identity.state.api_keys[old.id]
    assert stored.replaced_by == new.id
    assert stored.revoked_at == identity.clock.now() + timedelta(hours=1)
    assert (await identity.api_keys.authenticate(old_full)).id == old.id
    assert (await identity.api_keys.authenticate(new_full)).id == new.id
    assert [k.id for k in await identity.api_keys.list()] == [old.id, new.id]

    identity.clock.advance(timedelta(hours=1))
    with pytest.raises(TokenInvalid, match="was revoked"):
        await identity.api_keys.authenticate(old_full)
    assert await identity.api_keys.authenticate(new_full)


async def test_a_revoked_key_cannot_be_rotated(identity: FakeIdentity) -> None:
    view, _ = await identity.api_keys.create("sync", "qa", ["bookings:read"])
    await identity.api_keys.revoke(view.id)

    with pytest.raises(InvalidRequest, match="create a new key instead"):
        await identity.api_keys.rotate(view.id, timedelta(hours=1))

    assert list(identity.state.api_keys) == [view.id]  # no successor was made


async def test_a_rotated_key_may_be_rotated_again_within_its_grace(
    identity: FakeIdentity,
) -> None:
    first, _ = await identity.api_keys.create("sync", "qa", ["bookings:read"])
    second, _ = await identity.api_keys.rotate(first.id, timedelta(hours=1))

    third, third_full = await identity.api_keys.rotate(second.id, timedelta(hours=1))

    assert identity.state.api_keys[second.id].replaced_by == third.id
    assert (await identity.api_keys.authenticate(third_full)).id == third.id


async def test_a_client_that_no_longer_exists_has_no_working_tokens(
    identity: FakeIdentity,
) -> None:
    with pytest.raises(TokenInvalid, match="no longer exists"):
        await identity.api_keys.active_client("ABCDEFGHJKLM")
