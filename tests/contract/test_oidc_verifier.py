"""OidcVerifier against a real JWKS endpoint on loopback, as an identity provider serves it."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.oauth.service import OidcVerifier
from clinicflow.shared.clock import FixedClock
from support.fake_idp import AUDIENCE, ISSUER, NOW, FakeProvider, ProviderKey
from support.loopback_tls import loopback_tls

INTERVAL = timedelta(seconds=30)


@pytest.fixture(scope="module")
def key_a() -> ProviderKey:
    return ProviderKey("key-a")


@pytest.fixture(scope="module")
def key_b() -> ProviderKey:
    return ProviderKey("key-b")


@pytest.fixture
def provider(key_a: ProviderKey) -> Iterator[FakeProvider]:
    fake = FakeProvider([key_a])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: a proxy configured on the machine must not intercept loopback traffic.
    async with httpx.AsyncClient(trust_env=False, timeout=5, verify=loopback_tls()) as client:
        yield client


@pytest.fixture
def verifier(provider: FakeProvider, http: httpx.AsyncClient, clock: FixedClock) -> OidcVerifier:
    return OidcVerifier(ISSUER, AUDIENCE, provider.url, http, clock)


async def test_a_valid_token_is_accepted(verifier: OidcVerifier, key_a: ProviderKey) -> None:
    claims = await verifier.verify(key_a.sign())

    assert claims["sub"] == "user-1"


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"exp": int((NOW - timedelta(minutes=1)).timestamp())}, "expired at"),
        ({"aud": "someone-else"}, "audience is 'someone-else', expected 'clinicflow'"),
        ({"iss": "https://other.example"}, "issuer is 'https://other.example'"),
        ({"nbf": int((NOW + timedelta(minutes=5)).timestamp())}, "not valid before"),
    ],
)
async def test_a_token_with_bad_claims_is_refused_with_the_reason(
    verifier: OidcVerifier, key_a: ProviderKey, overrides: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(TokenInvalid, match=complaint):
        await verifier.verify(key_a.sign(**overrides))


async def test_a_token_signed_by_a_key_the_provider_does_not_hold_is_refused(
    verifier: OidcVerifier, key_b: ProviderKey
) -> None:
    forged = key_b.sign(kid="key-a")

    with pytest.raises(TokenInvalid, match="signature does not verify"):
        await verifier.verify(forged)


async def test_an_unknown_kid_is_refused(verifier: OidcVerifier, key_b: ProviderKey) -> None:
    with pytest.raises(TokenInvalid, match="unknown signing key id 'key-b'"):
        await verifier.verify(key_b.sign())


async def test_the_jwks_is_fetched_once_for_many_verifications(
    verifier: OidcVerifier, provider: FakeProvider, key_a: ProviderKey
) -> None:
    for _ in range(10):
        await verifier.verify(key_a.sign())
    await asyncio.gather(*(verifier.verify(key_a.sign()) for _ in range(10)))

    assert provider.fetches == 1


async def test_concurrent_first_requests_share_one_fetch(
    verifier: OidcVerifier, provider: FakeProvider, key_a: ProviderKey
) -> None:
    await asyncio.gather(*(verifier.verify(key_a.sign()) for _ in range(20)))

    assert provider.fetches == 1


async def test_the_cached_jwks_is_refetched_after_its_ttl(
    verifier: OidcVerifier, provider: FakeProvider, key_a: ProviderKey, clock: FixedClock
) -> None:
    await verifier.verify(key_a.sign())
    clock.advance(timedelta(minutes=10))
    await verifier.verify(key_a.sign(exp=int((NOW + timedelta(hours=2)).timestamp())))

    assert provider.fetches == 2


async def test_a_key_rotated_in_at_the_provider_is_picked_up_by_a_refetch(
    verifier: OidcVerifier,
    provider: FakeProvider,
    key_a: ProviderKey,
    key_b: ProviderKey,
    clock: FixedClock,
) -> None:
    await verifier.verify(key_a.sign())
    provider.published = [key_b]
    clock.advance(INTERVAL + timedelta(seconds=1))

    claims = await verifier.verify(key_b.sign(sub="user-2"))

    assert claims["sub"] == "user-2"
    assert provider.fetches == 2


async def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval(
    verifier: OidcVerifier, provider: FakeProvider, key_a: ProviderKey, clock: FixedClock
) -> None:
    await verifier.verify(key_a.sign())
    for _ in range(3):
        clock.advance(INTERVAL + timedelta(seconds=1))
        for _ in range(25):
            with pytest.raises(TokenInvalid, match="unknown signing key id"):
                await verifier.verify(key_a.sign(kid=uuid.uuid4().hex))
        assert await verifier.verify(key_a.sign())

    assert provider.fetches == 1 + 3


async def test_a_provider_that_is_down_means_token_invalid_without_leaking_the_url(
    http: httpx.AsyncClient, clock: FixedClock, key_a: ProviderKey
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://svc:s3cr3t@127.0.0.1:{port}/jwks?token=s3cr3t"
    verifier = OidcVerifier(ISSUER, AUDIENCE, url, http, clock)

    with pytest.raises(TokenInvalid, match="could not fetch the identity provider") as raised:
        await verifier.verify(key_a.sign())
    assert "s3cr3t" not in raised.value.detail
    assert str(port) not in raised.value.detail


async def test_a_failing_provider_is_retried_once_per_interval_not_per_request(
    verifier: OidcVerifier, provider: FakeProvider, clock: FixedClock, key_a: ProviderKey
) -> None:
    provider.failing = True
    with pytest.raises(TokenInvalid, match="could not fetch"):
        await verifier.verify(key_a.sign())
    provider.failing = False
    with pytest.raises(TokenInvalid, match="could not fetch"):
        await verifier.verify(key_a.sign())

    clock.advance(INTERVAL)

    assert await verifier.verify(key_a.sign())
    assert provider.fetches == 2
