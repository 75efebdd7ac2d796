"""OAuth 2.0 client credentials: API clients trade their id and secret for a short-lived JWT.

Signing keys (ES256) live in the database, the private half sealed with the key ring. The
newest unretired key signs; every unretired key is published at /.well-known/jwks.json, so
after `rotate` tokens signed by the previous key keep verifying until it is retired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from clinicflow.identity import jwt_keys
from clinicflow.identity.apikeys import ApiKeys, ApiKeyView
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.jwt_keys import SigningKey
from clinicflow.identity.tables import signing_keys
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError, InvalidRequest, NotFound

SIGNING_CONTEXT = "identity_signing_key.private_key"
CACHE_FOR = timedelta(minutes=5)


class OAuthError(DomainError):
    """RFC 6749 §5.2 errors; `error` is carried as an extension member of the problem."""

    code = "oauth_error"
    status = 400
    title = "Token request refused"


class InvalidClient(OAuthError):
    status = 401


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"  # noqa: S105 (RFC 6750 token type)


class TokenService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        keys: KeyRing,
        clients: ApiKeys,
        *,
        issuer: str,
        audience: str,
        ttl: timedelta,
    ) -> None:
        self._db = db
        self._clock = clock
        self._keys = keys
        self._clients = clients
        self.issuer = issuer
        self.audience = audience
        self._ttl = ttl
        self._cache: dict[str, SigningKey] | None = None
        self._loaded_at: datetime | None = None

    async def client_credentials(
        self, client_id: str, client_secret: str, scope: str | None
    ) -> IssuedToken:
        try:
            client = await self._clients.check_secret(client_id, client_secret)
        except TokenInvalid as exc:
            raise InvalidClient(exc.detail, error="invalid_client") from None
        scopes = _granted(client, scope)
        key = await self._signing_key()
        now = self._clock.now()
        token, _ = jwt_keys.issue(
            key,
            issuer=self.issuer,
            audience=self.audience,
            subject=client.id,
            scopes=scopes,
            ttl=self._ttl,
            now=now,
        )
        return IssuedToken(token, int(self._ttl.total_seconds()), " ".join(scopes))

    async def verify(self, token: str) -> tuple[dict[str, Any], ApiKeyView]:
        """The claims and the client, refused once the client is revoked."""
        kid = jwt_keys.header_kid(token)
        keys = await self._published()
        if kid not in keys:
            self._cache = None  # another process may have rotated; look again once
            keys = await self._published()
        claims = jwt_keys.verify(
            token, keys, issuer=self.issuer, audience=self.audience, now=self._clock.now()
        )
        client = await self._clients.active_client(str(claims["sub"]))
        return claims, client

    async def jwks(self) -> dict[str, Any]:
        return jwt_keys.jwks((await self._published()).values())

    async def rotate(self) -> str:
        """A new signing key; the old ones stay published (verifying) until retired."""
        key = jwt_keys.generate_signing_key(self._clock.now())
        async with self._db.write() as conn:
            await conn.execute(
                insert(signing_keys).values(
                    kid=key.kid,
                    algorithm=key.algorithm,
                    private_key_enc=self._keys.encrypt(
                        key.private_pem, context=SIGNING_CONTEXT, row=key.kid
                    ),
                    public_jwk=key.public_jwk,
                    created_at=key.created_at,
                )
            )
        self._cache = None
        return key.kid

    async def retire(self, kid: str) -> None:
        keys = await self._published()
        if kid not in keys:
            raise NotFound(f"no published signing key {kid!r}")
        newest = max(keys.values(), key=lambda k: k.created_at)
        if newest.kid == kid:
            raise InvalidRequest("the newest key signs new tokens; rotate first, then retire it")
        async with self._db.write() as conn:
            await conn.execute(
                update(signing_keys)
                .where(signing_keys.c.kid == kid)
                .values(retired_at=self._clock.now())
            )
        self._cache = None

    async def _signing_key(self) -> SigningKey:
        keys = await self._published()
        if not keys:
            await self.rotate()
            keys = await self._published()
        return max(keys.values(), key=lambda k: (k.created_at, k.kid))

    async def _published(self) -> dict[str, SigningKey]:
        now = self._clock.now()
        # Other processes rotate and retire too; a short cache keeps every process current.
        if self._loaded_at is None or now - self._loaded_at > CACHE_FOR:
            self._cache = None
        if self._cache is None:
            self._loaded_at = now
            async with self._db.read() as conn:
                rows = await conn.execute(
                    select(signing_keys).where(signing_keys.c.retired_at.is_(None))
                )
                self._cache = {r.kid: self._open(r) for r in rows}
        return self._cache

    def _open(self, row: Any) -> SigningKey:
        pem = self._keys.decrypt(row.private_key_enc, context=SIGNING_CONTEXT, row=row.kid)
        created: datetime = row.created_at
        return SigningKey(row.kid, row.algorithm, pem, dict(row.public_jwk), created)


def _granted(client: ApiKeyView, requested: str | None) -> list[str]:
    if requested is None or not requested.strip():
        return list(client.scopes)
    wanted = requested.split()
    beyond = sorted(set(wanted) - set(client.scopes))
    if beyond:
        raise OAuthError(
            f"scope {' '.join(beyond)} is not granted to this client; ask for a subset of "
            f"{' '.join(client.scopes) or '(none)'}",
            error="invalid_scope",
        )
    return sorted(set(wanted))
