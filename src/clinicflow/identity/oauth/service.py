"""OAuth access tokens: ours, and the clinic's OpenID Connect provider's.

Ours (RFC 6749 §4.4 client credentials): API clients trade their id and secret for a
short-lived JWT. Signing keys (ES256) live in the database, the private half sealed with the
key ring. The newest unretired key signs; every unretired key is published at
/.well-known/jwks.json, so after `rotate` tokens signed by the previous key keep verifying
until it is retired.

The provider's (`OidcVerifier`): staff signed in elsewhere present its tokens, checked against
its JWKS, fetched over HTTP with the injected client and cached; the fetch is this use
case's only I/O, so it lives here rather than behind a port of its own.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import jwt

from clinicflow.identity.api_keys.service import ApiKeys
from clinicflow.identity.api_keys.views import ApiKeyView
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.oauth.domain import jwt_keys
from clinicflow.identity.oauth.domain.jwt_keys import (
    ACCEPTED_ALGORITHMS,
    Claims,
    SealedSigningKey,
    SigningKey,
    decode_with_key,
    header_kid,
)
from clinicflow.identity.oauth.errors import InvalidClient, OAuthError
from clinicflow.identity.oauth.views import IssuedToken
from clinicflow.identity.ports import IdentityUnitOfWork
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest, NotFound

log = get_logger(__name__)
SIGNING_CONTEXT = "identity_signing_key.private_key"
CACHE_FOR = timedelta(minutes=5)


class TokenService:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[IdentityUnitOfWork],
        clock: Clock,
        keys: KeyRing,
        clients: ApiKeys,
        issuer: str,
        audience: str,
        ttl: timedelta,
    ) -> None:
        self._uow = uow
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
        scopes = granted(client, scope)
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

    async def verify(self, token: str) -> tuple[Claims, ApiKeyView]:
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

    async def jwks(self) -> dict[str, object]:
        return jwt_keys.jwks((await self._published()).values())

    async def rotate(self) -> str:
        """A new signing key; the old ones stay published (verifying) until retired."""
        key = jwt_keys.generate_signing_key(self._clock.now())
        sealed = self._keys.encrypt(key.private_pem, context=SIGNING_CONTEXT, row=key.kid)
        async with self._uow() as uow:
            await uow.signing_keys.add(
                SealedSigningKey(key.kid, key.algorithm, sealed, key.public_jwk, key.created_at)
            )
            await uow.commit()
        self._cache = None
        return key.kid

    async def retire(self, kid: str) -> None:
        keys = await self._published()
        if kid not in keys:
            raise NotFound(f"no published signing key {kid!r}")
        newest = max(keys.values(), key=lambda k: k.created_at)
        if newest.kid == kid:
            raise InvalidRequest("the newest key signs new tokens; rotate first, then retire it")
        async with self._uow() as uow:
            await uow.signing_keys.retire(kid, self._clock.now())
            await uow.commit()
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
            async with self._uow.reading() as uow:
                stored = await uow.signing_keys.published()
            self._cache = {k.kid: self._unsealed(k) for k in stored}
        return self._cache

    def _unsealed(self, key: SealedSigningKey) -> SigningKey:
        pem = self._keys.decrypt(key.private_key_enc, context=SIGNING_CONTEXT, row=key.kid)
        return SigningKey(key.kid, key.algorithm, pem, dict(key.public_jwk), key.created_at)


def granted(client: ApiKeyView, requested: str | None) -> list[str]:
    """The scopes a token gets: those asked for, all of them the client's; all the client's
    when none are asked for."""
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


LEEWAY_S = 30
_UNREACHABLE = "could not fetch the identity provider's keys; try again shortly"


class OidcVerifier:
    """Verifies tokens against the provider's JWKS, fetched with the injected client and cached.

    An unknown kid triggers a refetch (the provider may have rotated keys), but at most once per
    `min_refresh_interval`, so a flood of made-up kids cannot turn us into a load generator
    against the provider. Failed fetches count against that interval too.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str,
        http: httpx.AsyncClient,
        clock: Clock,
        cache_ttl: timedelta = timedelta(minutes=10),
        min_refresh_interval: timedelta = timedelta(seconds=30),
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._jwks_url = jwks_url
        self._http = http
        self._clock = clock
        self._cache_ttl = cache_ttl
        self._min_refresh_interval = min_refresh_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: datetime | None = None
        self._attempted_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Claims:
        kid = header_kid(token)
        key = await self._key(kid)
        return decode_with_key(
            token,
            key,
            issuer=self._issuer,
            audience=self._audience,
            now=self._clock.now(),
            leeway_s=LEEWAY_S,
        )

    async def _key(self, kid: str) -> jwt.PyJWK:
        if self._fresh(self._clock.now()) and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            # Re-read under the lock: a request that waited here may find the keys just fetched.
            now = self._clock.now()
            if not self._fresh(now) or kid not in self._keys:
                await self._refresh_if_allowed(now)
            if kid in self._keys:
                return self._keys[kid]
        raise TokenInvalid(
            f"unknown signing key id {kid[:64]!r}; the identity provider does not publish it"
        )

    def _fresh(self, now: datetime) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self._cache_ttl

    async def _refresh_if_allowed(self, now: datetime) -> None:
        recently = (
            self._attempted_at is not None and now - self._attempted_at < self._min_refresh_interval
        )
        if recently:
            if self._fresh(now):
                return  # keep the current keys; the kid is unknown to them
            raise TokenInvalid(_UNREACHABLE)
        self._attempted_at = now
        self._keys = await self._fetch()
        self._fetched_at = now

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        try:
            response = await self._http.get(self._jwks_url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            # The URL may carry credentials, so only the failure's kind is logged.
            log.warning("oidc_jwks_fetch_failed", error=type(exc).__name__)
            raise TokenInvalid(_UNREACHABLE) from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            log.warning("oidc_jwks_without_keys")
            raise TokenInvalid(_UNREACHABLE)
        return _usable_keys(entries)


def _usable_keys(entries: list[object]) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str):
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type or curve we do not support; the others stay usable
        if key.algorithm_name in ACCEPTED_ALGORITHMS:
            keys[kid] = key
    return keys
