"""Credentials → an `Actor`, on the in-memory unit of work: which credential is read, what
each kind of caller acts as, and that whatever is presented must be valid.

Over HTTP, for every route and caller: tests/integration/test_access_matrix.py; a real
OpenID Connect provider's tokens: test_identity_api.py and tests/contract/test_oidc_verifier.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.oauth.domain.jwt_keys import Claims, generate_signing_key, issue
from clinicflow.identity.oauth.service import OidcVerifier
from clinicflow.identity.service import Authenticator
from clinicflow.shared.actor import ANONYMOUS, Role
from clinicflow.shared.errors import Forbidden
from support.fake_identity import FakeIdentity

PASSWORD = "correct horse battery staple"
PROVIDER = "https://login.clinic.example"


class StubProvider:
    """The provider's verifier, answering with the claims it was given."""

    def __init__(self, claims: Claims) -> None:
        self.claims = claims

    async def verify(self, token: str) -> Claims:
        return self.claims


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


def authenticator(identity: FakeIdentity, provider: StubProvider | None = None) -> Authenticator:
    oidc: OidcVerifier | None = provider  # type: ignore[assignment]
    return Authenticator(
        keys=identity.api_keys,
        sessions=identity.sessions,
        tokens=identity.tokens,
        oidc=oidc,
        oidc_issuer=PROVIDER if provider else None,
    )


def provider_token(identity: FakeIdentity, issuer: str = PROVIDER) -> str:
    token, _ = issue(
        generate_signing_key(identity.clock.now()),
        issuer=issuer,
        audience="clinicflow-staff",
        subject="staff-42",
        scopes=[],
        ttl=identity.lifetime,
        now=identity.clock.now(),
    )
    return token


async def test_no_credentials_act_as_anonymous(identity: FakeIdentity) -> None:
    assert await authenticator(identity).actor_for(None, None, None) == ANONYMOUS


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer ", "Token cfs_x"])
async def test_an_authorization_header_that_is_not_a_bearer_token_is_refused(
    identity: FakeIdentity, header: str
) -> None:
    with pytest.raises(TokenInvalid, match="Authorization: Bearer"):
        await authenticator(identity).actor_for(header, None, None)


async def test_an_unrecognized_bearer_token_is_refused_not_anonymous(
    identity: FakeIdentity,
) -> None:
    with pytest.raises(TokenInvalid, match="unrecognized bearer token"):
        await authenticator(identity).actor_for("Bearer something-else", None, None)


async def test_an_api_key_acts_as_its_client_by_header_or_bearer(identity: FakeIdentity) -> None:
    view, full = await identity.api_keys.create("sync", "qa", ["bookings:read"], "partner")
    auth = authenticator(identity)

    by_bearer = await auth.actor_for(f"Bearer {full}", None, None)
    by_header = await auth.actor_for(None, f" {full} ", None)

    assert by_bearer == by_header
    assert (by_bearer.kind, by_bearer.id, by_bearer.role) == ("client", view.id, Role.CLIENT)
    assert (by_bearer.scopes, by_bearer.tier) == (frozenset({"bookings:read"}), "partner")


async def test_a_staff_session_acts_as_the_staff_member_by_bearer_or_cookie(
    identity: FakeIdentity,
) -> None:
    await identity.users.create("doc", "practitioner", PASSWORD, practitioner="doctor2")
    opened, user = await identity.users.login("doc", PASSWORD, None)
    auth = authenticator(identity)

    by_bearer = await auth.actor_for(f"bearer {opened.token}", None, None)
    by_cookie = await auth.actor_for(None, None, opened.token)

    assert by_bearer == by_cookie
    assert (by_bearer.kind, by_bearer.id, by_bearer.role) == ("user", user.id, Role.PRACTITIONER)
    assert (by_bearer.practitioner, by_bearer.tier) == ("doctor2", "staff")


async def test_the_authorization_header_wins_over_the_cookie(identity: FakeIdentity) -> None:
    await identity.users.create("desk", "front_desk", PASSWORD)
    opened, _ = await identity.users.login("desk", PASSWORD, None)
    _, full = await identity.api_keys.create("sync", "qa", ["bookings:read"])

    actor = await authenticator(identity).actor_for(f"Bearer {full}", None, opened.token)

    assert actor.kind == "client"


async def test_a_patient_session_acts_as_the_patient(identity: FakeIdentity) -> None:
    opened = await identity.sessions.open_for_patient("p-1")

    actor = await authenticator(identity).actor_for(None, None, opened.token)

    assert (actor.kind, actor.id, actor.role, actor.patient_id, actor.tier) == (
        "patient",
        "patient:p-1",
        Role.PATIENT,
        "p-1",
        "patient",
    )


async def test_a_timed_out_cookie_is_refused_not_anonymous(identity: FakeIdentity) -> None:
    opened = await identity.sessions.open_for_patient("p-1")
    identity.clock.advance(identity.idle)

    with pytest.raises(TokenInvalid, match="inactivity"):
        await authenticator(identity).actor_for(None, None, opened.token)


async def test_our_token_carries_at_most_what_its_client_holds_today(
    identity: FakeIdentity,
) -> None:
    view, full = await identity.api_keys.create("sync", "qa", ["bookings:read", "bookings:write"])
    secret = full.removeprefix(f"cfk_{view.id}_")
    issued = await identity.tokens.client_credentials(view.id, secret, None)
    stored = identity.state.api_keys[view.id]
    identity.state.api_keys[view.id] = dataclasses.replace(stored, scopes=("bookings:read",))

    actor = await authenticator(identity).actor_for(f"Bearer {issued.access_token}", None, None)

    assert (actor.kind, actor.id, actor.scopes) == ("client", view.id, frozenset({"bookings:read"}))


async def test_a_token_from_an_issuer_we_do_not_accept_is_refused(identity: FakeIdentity) -> None:
    token = provider_token(identity, issuer="https://evil.example")

    with pytest.raises(TokenInvalid, match="issuer is not one this clinic accepts"):
        await authenticator(identity).actor_for(f"Bearer {token}", None, None)


async def test_a_malformed_jwt_is_refused(identity: FakeIdentity) -> None:
    with pytest.raises(TokenInvalid, match="malformed token"):
        await authenticator(identity).actor_for("Bearer a.b.c", None, None)


async def test_the_provider_s_staff_act_with_the_mapped_role_and_calendar(
    identity: FakeIdentity,
) -> None:
    provider = StubProvider(
        {"sub": "staff-42", "clinicflow_role": "practitioner", "clinicflow_practitioner": "doc1"}
    )

    actor = await authenticator(identity, provider).actor_for(
        f"Bearer {provider_token(identity)}", None, None
    )

    assert (actor.kind, actor.id, actor.role) == ("user", "oidc:staff-42", Role.PRACTITIONER)
    assert (actor.practitioner, actor.tier) == ("doc1", "staff")


@pytest.mark.parametrize("role", [None, "patient", "client", "superuser", 7])
async def test_the_provider_s_token_without_a_staff_role_is_forbidden(
    identity: FakeIdentity, role: object
) -> None:
    provider = StubProvider({"sub": "staff-42", "clinicflow_role": role})

    with pytest.raises(Forbidden, match="clinicflow_role"):
        await authenticator(identity, provider).actor_for(
            f"Bearer {provider_token(identity)}", None, None
        )
