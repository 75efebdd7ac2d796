"""OAuth access tokens, ours and a provider's: ES256 signing keys, the JWKS, issuing and
checking. Pure: the keys are generated, sealed and stored by the caller (`oauth/service.py`),
and every check is against the `now` it is given."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from clinicflow.identity.errors import InsufficientScope, TokenInvalid

if TYPE_CHECKING:
    from jwt.types import Options  # PyJWT 2.10+; only its type is used

# Asymmetric only: with "none" or HS* anyone who has the public key could mint tokens.
ACCEPTED_ALGORITHMS = frozenset({"ES256", "RS256"})
_SET_BY_ISSUE = frozenset({"iss", "aud", "sub", "scope", "iat", "nbf", "exp", "jti"})
# PyJWT would read the system clock; time claims are checked here against the injected `now`.
# iss/aud are checked here too, to tell the client exactly what is wrong.
_PYJWT_OPTIONS: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_iss": False,
    "verify_aud": False,
}


Claims = dict[str, object]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private_pem: str = field(repr=False)
    public_jwk: dict[str, object]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SealedSigningKey:
    """A signing key as stored: the private half sealed with the key ring."""

    kid: str
    algorithm: str
    private_key_enc: str = field(repr=False)
    public_jwk: dict[str, object]
    created_at: datetime


def generate_signing_key(now: datetime) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    kid = secrets.token_urlsafe(12)  # 16 characters
    jwk: dict[str, object] = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="ES256", use="sig")
    return SigningKey(kid, "ES256", pem, jwk, _aware(now))


def jwks(keys: Iterable[SigningKey]) -> dict[str, object]:
    return {"keys": [dict(key.public_jwk) for key in keys]}


def issue(
    key: SigningKey,
    *,
    issuer: str,
    audience: str,
    subject: str,
    scopes: Sequence[str],
    ttl: timedelta,
    now: datetime,
    extra: Mapping[str, object] | None = None,
) -> tuple[str, datetime]:
    """The token and its expiry instant."""
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    clash = _SET_BY_ISSUE & set(extra or {})
    if clash:
        raise ValueError(f"extra claims may not replace {sorted(clash)}")
    if any(not scope or any(c.isspace() for c in scope) for scope in scopes):
        raise ValueError("scopes must be non-empty and contain no whitespace")
    issued = int(_aware(now).timestamp())
    expires = issued + int(ttl.total_seconds())
    claims = {
        **(extra or {}),
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "scope": " ".join(scopes),
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "jti": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, key.private_pem, algorithm=key.algorithm, headers={"kid": key.kid})
    return token, datetime.fromtimestamp(expires, UTC)


def verify(
    token: str,
    keys: Mapping[str, SigningKey | Mapping[str, object]],
    *,
    issuer: str,
    audience: str,
    now: datetime,
    leeway_s: int = 30,
) -> Claims:
    kid = header_kid(token)
    entry = keys.get(kid)
    if entry is None:
        raise TokenInvalid(
            f"unknown signing key id {_shown(kid)}; the key may have been retired, "
            "request a new token"
        )
    if isinstance(entry, SigningKey):
        key = jwt.PyJWK(dict(entry.public_jwk), algorithm=entry.algorithm)
    else:
        key = jwt.PyJWK(dict(entry))
    return decode_with_key(token, key, issuer=issuer, audience=audience, now=now, leeway_s=leeway_s)


def header_kid(token: str) -> str:
    """The header's key id, after refusing malformed tokens and unaccepted algorithms."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid("token is not a well-formed JWT (header.payload.signature)") from exc
    alg = header.get("alg")
    if alg not in ACCEPTED_ALGORITHMS:
        raise TokenInvalid(
            f"token algorithm {_shown(alg)} is not accepted; "
            f"sign with one of {sorted(ACCEPTED_ALGORITHMS)}"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenInvalid("token header has no key id (kid); the signing key cannot be chosen")
    return kid


def decode_with_key(
    token: str, key: jwt.PyJWK, *, issuer: str, audience: str, now: datetime, leeway_s: int
) -> Claims:
    if key.algorithm_name not in ACCEPTED_ALGORITHMS:
        raise TokenInvalid(f"the signing key's algorithm {key.algorithm_name} is not accepted")
    try:
        claims: Claims = jwt.decode(
            token, key, algorithms=[key.algorithm_name], options=_PYJWT_OPTIONS
        )
    except jwt.InvalidAlgorithmError as exc:
        raise TokenInvalid(
            f"token algorithm does not match its signing key, which uses {key.algorithm_name}"
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenInvalid("signature does not verify") from exc
    except jwt.DecodeError as exc:
        raise TokenInvalid("token is not a well-formed JWT (header.payload.signature)") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid(f"token claims are malformed: {exc}") from exc
    check_claims(claims, issuer=issuer, audience=audience, now=now, leeway_s=leeway_s)
    return claims


def check_claims(
    claims: Mapping[str, object], *, issuer: str, audience: str, now: datetime, leeway_s: int
) -> None:
    now = _aware(now)
    leeway = timedelta(seconds=leeway_s)
    if claims.get("iss") != issuer:
        raise TokenInvalid(f"token issuer is {_shown(claims.get('iss'))}, expected {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if audience not in audiences:
        raise TokenInvalid(f"token audience is {_shown(aud)}, expected {audience!r}")
    expires = _instant(claims, "exp")
    if expires is None:
        raise TokenInvalid("token has no exp (expiry) claim; tokens must expire")
    if expires <= now - leeway:
        raise TokenInvalid(f"token expired at {expires.isoformat()}; request a new one")
    not_before = _instant(claims, "nbf")
    if not_before is not None and not_before > now + leeway:
        raise TokenInvalid(
            f"token is not valid before {not_before.isoformat()}; check the issuing system's clock"
        )
    issued = _instant(claims, "iat")
    if issued is not None and issued > now + leeway:
        raise TokenInvalid(
            f"token was issued in the future ({issued.isoformat()}); "
            "check the issuing system's clock"
        )


def require_scopes(claims: Mapping[str, object], required: Iterable[str]) -> None:
    scope = claims.get("scope")
    granted = set(scope.split()) if isinstance(scope, str) else set()
    missing = [name for name in required if name not in granted]
    if missing:
        raise InsufficientScope(
            f"this needs scope {' '.join(missing)}; the token grants "
            f"{' '.join(sorted(granted)) or 'no scopes'}",
            missing=missing,
        )


def _instant(claims: Mapping[str, object], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalid(f"claim {name} must be a number of seconds since the epoch")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise TokenInvalid(f"claim {name} is out of range") from exc


def _shown(value: object) -> str:
    # These values come from the token: bound them so a hostile token cannot bloat responses.
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("token times need an aware datetime")
    return now.astimezone(UTC)
