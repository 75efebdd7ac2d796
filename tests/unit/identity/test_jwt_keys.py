"""The platform's own access tokens: what verifies, and what each refusal says."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from clinicflow.identity.errors import InsufficientScope, TokenInvalid
from clinicflow.identity.oauth.domain.jwt_keys import (
    SigningKey,
    generate_signing_key,
    issue,
    jwks,
    require_scopes,
    verify,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
ISSUER = "https://clinic.example"
AUDIENCE = "clinicflow-api"
TTL = timedelta(minutes=15)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key(NOW)


def _issue(key: SigningKey, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "subject": "staff:42",
        "scopes": ["bookings:read", "bookings:write"],
        "ttl": TTL,
        "now": NOW,
    } | overrides
    token, _ = issue(key, **args)
    return token


def _verify(token: str, key: SigningKey, at: datetime = NOW) -> dict[str, Any]:
    return verify(token, {key.kid: key}, issuer=ISSUER, audience=AUDIENCE, now=at)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    parsed: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return parsed


def test_an_issued_token_verifies_and_carries_its_claims(key: SigningKey) -> None:
    token, expires = issue(
        key,
        issuer=ISSUER,
        audience=AUDIENCE,
        subject="staff:42",
        scopes=["bookings:read", "bookings:write"],
        ttl=TTL,
        now=NOW,
        extra={"clinic": "main"},
    )

    claims = _verify(token, key)

    assert expires == NOW + TTL
    assert claims["sub"] == "staff:42"
    assert claims["scope"] == "bookings:read bookings:write"
    assert claims["iat"] == claims["nbf"] == int(NOW.timestamp())
    assert claims["exp"] == int((NOW + TTL).timestamp())
    assert claims["clinic"] == "main"
    assert len(claims["jti"]) == 36


def test_a_public_jwk_verifies_as_well_as_the_signing_key(key: SigningKey) -> None:
    claims = verify(
        _issue(key), {key.kid: key.public_jwk}, issuer=ISSUER, audience=AUDIENCE, now=NOW
    )

    assert claims["sub"] == "staff:42"


def test_the_jwks_publishes_public_members_only() -> None:
    keys = [generate_signing_key(NOW), generate_signing_key(NOW)]

    published = jwks(keys)["keys"]

    assert [k["kid"] for k in published] == [k.kid for k in keys]
    for jwk in published:
        assert "d" not in jwk
        assert {"kty", "crv", "x", "y", "kid", "alg", "use"} <= set(jwk)
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")


def test_a_new_key_has_a_16_character_url_safe_kid_and_hides_its_private_part() -> None:
    key = generate_signing_key(NOW)

    assert len(key.kid) == 16
    assert set(key.kid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "PRIVATE" not in repr(key)
    assert key.created_at == NOW


def test_an_expired_token_says_when_it_expired(key: SigningKey) -> None:
    token = _issue(key)

    with pytest.raises(TokenInvalid, match=r"expired at 2026-11-24T15:15:00\+00:00; request a new"):
        _verify(token, key, at=NOW + TTL + timedelta(seconds=31))


def test_expiry_allows_thirty_seconds_of_clock_skew(key: SigningKey) -> None:
    assert _verify(_issue(key), key, at=NOW + TTL + timedelta(seconds=29))


def test_a_token_used_before_it_is_valid_is_refused(key: SigningKey) -> None:
    token = _issue(key)

    with pytest.raises(TokenInvalid, match="not valid before"):
        _verify(token, key, at=NOW - timedelta(minutes=5))


def test_a_token_for_another_audience_is_refused(key: SigningKey) -> None:
    token = _issue(key, audience="billing-api")

    with pytest.raises(TokenInvalid, match="audience is 'billing-api', expected 'clinicflow-api'"):
        _verify(token, key)


def test_a_token_from_another_issuer_is_refused(key: SigningKey) -> None:
    token = _issue(key, issuer="https://evil.example")

    with pytest.raises(TokenInvalid, match=re.escape("token issuer is 'https://evil.example'")):
        _verify(token, key)


def test_a_tampered_payload_fails_the_signature_check(key: SigningKey) -> None:
    header, _, signature = _issue(key).split(".")
    claims = _claims_of(_issue(key)) | {"scope": "admin"}
    tampered = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"

    with pytest.raises(TokenInvalid, match="signature does not verify") as raised:
        _verify(tampered, key)
    assert tampered not in raised.value.detail


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(key: SigningKey) -> None:
    impostor = generate_signing_key(NOW)
    forged = _issue(SigningKey(key.kid, "ES256", impostor.private_pem, key.public_jwk, NOW))

    with pytest.raises(TokenInvalid, match="signature does not verify"):
        _verify(forged, key)


def test_an_unknown_kid_is_named_in_the_refusal(key: SigningKey) -> None:
    other = generate_signing_key(NOW)

    with pytest.raises(TokenInvalid, match=f"unknown signing key id '{other.kid}'"):
        _verify(_issue(other), key)


def test_an_unsigned_alg_none_token_is_refused(key: SigningKey) -> None:
    token = _forge({"alg": "none", "typ": "JWT", "kid": key.kid}, _claims_of(_issue(key)), None)

    with pytest.raises(TokenInvalid, match="algorithm 'none' is not accepted"):
        _verify(token, key)


def test_an_hs256_token_keyed_with_the_public_key_is_refused(key: SigningKey) -> None:
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    token = _forge(header, _claims_of(_issue(key)), public_pem)

    with pytest.raises(TokenInvalid, match="algorithm 'HS256' is not accepted"):
        _verify(token, key)


def test_an_es256_header_over_an_rs256_key_is_refused(key: SigningKey) -> None:
    rsa_public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    mislabelled = RSAAlgorithm.to_jwk(rsa_public, as_dict=True) | {"kid": key.kid, "alg": "RS256"}

    with pytest.raises(TokenInvalid, match="does not match its signing key"):
        verify(_issue(key), {key.kid: mislabelled}, issuer=ISSUER, audience=AUDIENCE, now=NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "....", "eyJhbGciOiJFUzI1NiJ9.e30."])
def test_garbage_is_refused_as_malformed_or_unusable(garbage: str, key: SigningKey) -> None:
    with pytest.raises(TokenInvalid):
        _verify(garbage, key)


def test_extra_claims_cannot_override_the_registered_ones(key: SigningKey) -> None:
    with pytest.raises(ValueError, match="may not replace"):
        _issue(key, extra={"sub": "staff:1"})


def test_missing_scopes_are_named_and_map_to_403(key: SigningKey) -> None:
    claims = _verify(_issue(key), key)
    require_scopes(claims, ["bookings:read"])

    with pytest.raises(InsufficientScope, match="needs scope patients:read") as raised:
        require_scopes(claims, ["bookings:read", "patients:read"])
    assert raised.value.status == 403
    assert raised.value.code == "insufficient_scope"


def test_token_errors_map_to_401_invalid_token(key: SigningKey) -> None:
    with pytest.raises(TokenInvalid) as raised:
        _verify("abc", key)

    assert (raised.value.code, raised.value.status) == ("invalid_token", 401)
    assert raised.value.title == "Invalid credentials"
