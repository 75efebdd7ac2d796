"""Staff signing in with an external OpenID Connect provider's tokens, over HTTP against a
real database: the provider's JWKS is served on loopback, the app is built with the
provider configured. (Sessions and links: test_identity_sessions.py; API keys and our own
OAuth tokens: test_identity_tokens.py.)

The clock stands at Tuesday 2026-11-24 15:00Z; it only moves when a test advances it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from clinicflow.bootstrap import build
from clinicflow.gateway.app import create_app
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import bearer, booking, refused
from support.fake_idp import ISSUER, FakeProvider, ProviderKey
from support.loopback_tls import loopback_tls

OIDC_ISSUER = ISSUER
OIDC_AUDIENCE = "clinicflow-staff"


class Provider:
    """The clinic's identity provider: one signing key, its JWKS on loopback."""

    def __init__(self) -> None:
        self.key = ProviderKey("idp-1")
        self.fake = FakeProvider([self.key])
        self.url = self.fake.url

    def sign(self, clock: FixedClock, **overrides: Any) -> str:
        claims = {"sub": "staff-42", "clinicflow_role": "front_desk"} | overrides
        return self.key.sign(audience=OIDC_AUDIENCE, now=clock.now(), **claims)


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    provider = Provider()
    provider.fake.start()
    yield provider
    provider.fake.stop()


@pytest.fixture
async def oidc_client(
    settings: Settings, clock: FixedClock, provider: Provider
) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "oidc_issuer": OIDC_ISSUER,
            "oidc_audience": OIDC_AUDIENCE,
            "oidc_jwks_url": provider.url,
        }
    )
    # trust_env=False: a proxy configured on the machine must not intercept loopback traffic.
    built = build(
        configured,
        clock=clock,
        http=httpx.AsyncClient(trust_env=False, timeout=5, verify=loopback_tls()),
    )
    transport = httpx.ASGITransport(app=create_app(container=built))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            yield http
    finally:
        await built.aclose()


async def test_a_provider_token_with_a_staff_role_reads_bookings(
    oidc_client: httpx.AsyncClient, provider: Provider, clock: FixedClock
) -> None:
    made = await oidc_client.post("/v1/bookings", json=booking())
    assert made.status_code == 201, made.text
    booking_id = made.json()["id"]
    token = provider.sign(clock)

    listed = await oidc_client.get("/v1/bookings", headers=bearer(token))

    assert listed.status_code == 200, listed.text
    assert [b["id"] for b in listed.json()["bookings"]] == [booking_id]
    who = (await oidc_client.get("/v1/auth/me", headers=bearer(token))).json()
    assert (who["kind"], who["id"], who["role"]) == ("user", "oidc:staff-42", "front_desk")


@pytest.mark.parametrize("role", [None, "patient", "superuser"])
async def test_a_provider_token_without_a_staff_role_is_forbidden(
    oidc_client: httpx.AsyncClient, provider: Provider, clock: FixedClock, role: str | None
) -> None:
    token = provider.sign(clock, clinicflow_role=role)

    resp = await oidc_client.get("/v1/bookings", headers=bearer(token))

    assert "clinicflow_role" in refused(resp, 403, "forbidden")["detail"]


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"aud": "another-app"}, "audience is 'another-app'"),
        ({"iss": "https://login.other.example"}, "issuer is not one this clinic accepts"),
        ({"exp": 1_700_000_000}, "expired"),
    ],
)
async def test_a_provider_token_for_someone_else_is_refused(
    oidc_client: httpx.AsyncClient,
    provider: Provider,
    clock: FixedClock,
    overrides: dict[str, Any],
    complaint: str,
) -> None:
    token = provider.sign(clock, **overrides)

    resp = await oidc_client.get("/v1/bookings", headers=bearer(token))

    assert complaint in refused(resp, 401, "invalid_token")["detail"]
