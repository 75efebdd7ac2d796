"""The rules of a SMART Backend Services token request (client-confidential-asymmetric):
`client_credentials` with a one-time JWT the client signed with its private key.

Checked here, without I/O, in this order: the form, the header (an asymmetric `alg` we
accept and a `kid`), who the assertion says it is (`iss` = `sub` = the client id); then,
with the client's public key, the signature and the claims: `aud` is the token URL, `exp`
is present and at most five minutes ahead, and `jti` is present (its single use is the
store's to enforce).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# RS384/ES384 as SMART requires; RS256/ES256 as most clients also send.
ALGORITHMS = ("RS384", "ES384", "RS256", "ES256")
MAX_LIFETIME = timedelta(minutes=5)
TOKEN_PREFIX = "cfsm_"  # noqa: S105 (a prefix, not a secret)


class AssertionRefused(ValueError):
    """`error` is the RFC 6749 §5.2 code the token endpoint answers."""

    def __init__(self, detail: str, error: str = "invalid_client") -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = error


@dataclass(frozen=True, slots=True)
class Presented:
    client_id: str
    kid: str
    alg: str


@dataclass(frozen=True, slots=True)
class Verified:
    client_id: str
    jti: str
    expires_at: datetime


def check_form(grant_type: str | None, assertion_type: str | None, assertion: str | None) -> str:
    if grant_type != "client_credentials":
        raise AssertionRefused(
            "grant_type must be client_credentials", error="unsupported_grant_type"
        )
    if assertion_type != ASSERTION_TYPE:
        raise AssertionRefused(
            f"client_assertion_type must be {ASSERTION_TYPE}", error="invalid_request"
        )
    if not assertion:
        raise AssertionRefused("client_assertion is missing", error="invalid_request")
    return assertion


def presented(assertion: str) -> Presented:
    """Who the assertion claims to come from, read before its signature can be checked."""
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AssertionRefused("client_assertion is not a JWT") from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise AssertionRefused(
            f"client_assertion alg must be one of {', '.join(ALGORITHMS)} (signed with the "
            "client's private key)"
        )
    if not isinstance(kid, str) or not kid:
        raise AssertionRefused("client_assertion header needs the kid of the signing key")
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss or iss != sub:
        raise AssertionRefused("client_assertion iss and sub must both be the client id")
    return Presented(iss, kid, str(alg))


def verify(
    assertion: str, key: jwt.PyJWK, seen: Presented, *, audience: str, now: datetime
) -> Verified:
    """The signature under `key` and the claims; raises `AssertionRefused`."""
    try:
        claims = jwt.decode(
            assertion,
            key,
            algorithms=[seen.alg],
            audience=audience,
            issuer=seen.client_id,
            # PyJWT would compare times against the system clock; they are checked below
            # against ours.
            options={
                "require": ["exp", "jti", "iss", "sub", "aud"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidAudienceError:
        raise AssertionRefused(f"client_assertion aud must be the token URL {audience}") from None
    except jwt.PyJWTError as exc:
        raise AssertionRefused(f"client_assertion refused: {type(exc).__name__}") from None
    exp = claims["exp"]
    if not isinstance(exp, int | float):
        raise AssertionRefused("client_assertion exp must be a number of seconds")
    expires_at = datetime.fromtimestamp(int(exp), tz=now.tzinfo)
    if expires_at <= now:
        raise AssertionRefused("client_assertion has expired")
    if expires_at > now + MAX_LIFETIME:
        raise AssertionRefused("client_assertion exp must be at most five minutes ahead")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise AssertionRefused("client_assertion needs a jti (at most 255 characters)")
    return Verified(seen.client_id, jti, expires_at)


def usable_key(entries: object, kid: str, alg: str) -> jwt.PyJWK | None:
    """The key `kid` of a JWKS document, when it signs with `alg`."""
    keys = entries.get("keys") if isinstance(entries, dict) else None
    for entry in keys if isinstance(keys, list) else []:
        if not isinstance(entry, dict) or entry.get("kid") != kid:
            continue
        try:
            key = jwt.PyJWK(entry, algorithm=alg)
        except jwt.PyJWTError:
            return None
        if entry.get("use", "sig") != "sig" or "d" in entry:
            return None  # an encryption key, or a private key someone registered by mistake
        return key
    return None


def new_token() -> tuple[str, str]:
    """An access token and the digest it is stored as."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_client_id() -> str:
    return "smart-" + secrets.token_hex(12)
