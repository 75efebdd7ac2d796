"""OAuth client credentials on the in-memory unit of work: who gets a token, with which
scopes, and how signing keys rotate and retire.

The token format and every refusal of a malformed or forged token: test_jwt_keys.py. Over
HTTP (Basic credentials, the form, RFC 6749 answers, the JWKS route):
tests/integration/test_identity_tokens.py.
"""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.oauth.errors import InvalidClient, OAuthError
from clinicflow.identity.oauth.service import SIGNING_CONTEXT, TokenService
from clinicflow.shared.errors import InvalidRequest, NotFound
from support.fake_identity import FakeIdentity


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


async def client(identity: FakeIdentity, *scopes: str) -> tuple[str, str]:
    """A client's id and secret."""
    view, full = await identity.api_keys.create("scheduler", "qa", list(scopes))
    return view.id, full.removeprefix(f"cfk_{view.id}_")


def another_process(identity: FakeIdentity) -> TokenService:
    """A second token service over the same database, with its own key cache."""
    return TokenService(
        uow=identity.uow,
        clock=identity.clock,
        keys=identity.keys,
        clients=identity.api_keys,
        issuer=identity.tokens.issuer,
        audience=identity.tokens.audience,
        ttl=timedelta(minutes=15),
    )


async def published_keys(identity: FakeIdentity) -> list[dict[str, object]]:
    keys = (await identity.tokens.jwks())["keys"]
    assert isinstance(keys, list)
    return [dict(k) for k in keys]


async def test_a_client_gets_a_token_for_all_its_scopes_when_it_asks_for_none(
    identity: FakeIdentity,
) -> None:
    client_id, secret = await client(identity, "bookings:write", "bookings:read")

    issued = await identity.tokens.client_credentials(client_id, secret, None)

    assert (issued.token_type, issued.expires_in) == ("Bearer", 15 * 60)
    assert issued.scope == "bookings:read bookings:write"
    claims, holder = await identity.tokens.verify(issued.access_token)
    assert (claims["sub"], claims["scope"], holder.id) == (client_id, issued.scope, client_id)
    assert (claims["iss"], claims["aud"]) == ("https://clinic.test", "clinicflow-api")


async def test_a_client_may_ask_for_a_subset_of_its_scopes_never_more(
    identity: FakeIdentity,
) -> None:
    client_id, secret = await client(identity, "bookings:read", "bookings:write")

    narrow = await identity.tokens.client_credentials(client_id, secret, " bookings:read ")
    assert narrow.scope == "bookings:read"

    with pytest.raises(OAuthError, match="scope audit:read is not granted") as beyond:
        await identity.tokens.client_credentials(client_id, secret, "bookings:read audit:read")
    assert beyond.value.extra["error"] == "invalid_scope"


@pytest.mark.parametrize("which", ["wrong secret", "unknown client", "revoked client"])
async def test_bad_client_credentials_are_an_invalid_client(
    identity: FakeIdentity, which: str
) -> None:
    client_id, secret = await client(identity, "bookings:read")
    if which == "wrong secret":
        secret = "not-the-secret-at-all"
    elif which == "unknown client":
        client_id = "ABCDEFGHJKLM"
    else:
        await identity.api_keys.revoke(client_id)

    with pytest.raises(InvalidClient) as refused:
        await identity.tokens.client_credentials(client_id, secret, None)

    assert (refused.value.status, refused.value.extra["error"]) == (401, "invalid_client")
    assert identity.state.signing_keys == {}  # nothing was signed


async def test_a_revoked_client_s_tokens_stop_verifying_at_once(identity: FakeIdentity) -> None:
    client_id, secret = await client(identity, "bookings:read")
    issued = await identity.tokens.client_credentials(client_id, secret, None)

    await identity.api_keys.revoke(client_id)

    with pytest.raises(TokenInvalid, match="was revoked"):
        await identity.tokens.verify(issued.access_token)


async def test_a_token_expires_after_its_lifetime_and_the_leeway(identity: FakeIdentity) -> None:
    client_id, secret = await client(identity, "bookings:read")
    issued = await identity.tokens.client_credentials(client_id, secret, None)

    identity.clock.advance(timedelta(minutes=15, seconds=29))
    assert await identity.tokens.verify(issued.access_token)
    identity.clock.advance(timedelta(seconds=1))
    with pytest.raises(TokenInvalid, match="expired"):
        await identity.tokens.verify(issued.access_token)


async def test_the_first_token_makes_a_signing_key_sealed_at_rest_and_published_public(
    identity: FakeIdentity,
) -> None:
    client_id, secret = await client(identity, "bookings:read")
    issued = await identity.tokens.client_credentials(client_id, secret, None)

    ((stored, retired),) = identity.state.signing_keys.values()
    assert retired is None
    assert "PRIVATE KEY" not in stored.private_key_enc
    pem = identity.keys.decrypt(stored.private_key_enc, context=SIGNING_CONTEXT, row=stored.kid)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert jwt.get_unverified_header(issued.access_token)["kid"] == stored.kid
    (published,) = await published_keys(identity)
    assert published["kid"] == stored.kid
    assert "d" not in published


async def test_rotation_signs_with_the_new_key_and_the_old_verifies_until_retired(
    identity: FakeIdentity,
) -> None:
    client_id, secret = await client(identity, "bookings:read")
    old = (await identity.tokens.client_credentials(client_id, secret, None)).access_token
    old_kid = jwt.get_unverified_header(old)["kid"]
    identity.clock.advance(timedelta(minutes=1))

    new_kid = await identity.tokens.rotate()

    new = (await identity.tokens.client_credentials(client_id, secret, None)).access_token
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert await identity.tokens.verify(old)
    assert {k["kid"] for k in await published_keys(identity)} == {old_kid, new_kid}

    await identity.tokens.retire(old_kid)

    with pytest.raises(TokenInvalid, match="unknown signing key id"):
        await identity.tokens.verify(old)
    assert await identity.tokens.verify(new)


async def test_the_newest_key_cannot_be_retired_nor_an_unknown_one(
    identity: FakeIdentity,
) -> None:
    kid = await identity.tokens.rotate()

    with pytest.raises(InvalidRequest, match="rotate first"):
        await identity.tokens.retire(kid)
    with pytest.raises(NotFound, match="no published signing key 'nope'"):
        await identity.tokens.retire("nope")


async def test_a_key_rotated_by_another_process_verifies_here_at_once(
    identity: FakeIdentity,
) -> None:
    client_id, secret = await client(identity, "bookings:read")
    await identity.tokens.client_credentials(client_id, secret, None)  # this one caches
    other = another_process(identity)
    identity.clock.advance(timedelta(minutes=1))
    await other.rotate()

    issued = await other.client_credentials(client_id, secret, None)

    claims, _ = await identity.tokens.verify(issued.access_token)  # an unknown kid: reload
    assert claims["sub"] == client_id
