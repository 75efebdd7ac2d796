"""Accept access/ID tokens issued by an external OpenID Connect provider."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.jwt_keys import ACCEPTED_ALGORITHMS, decode_with_key, header_kid
from clinicflow.infra.logging import get_logger
from clinicflow.shared.clock import Clock

_log = get_logger(__name__)
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

    async def verify(self, token: str) -> dict[str, Any]:
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
            _log.warning("oidc_jwks_fetch_failed", error=type(exc).__name__)
            raise TokenInvalid(_UNREACHABLE) from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            _log.warning("oidc_jwks_without_keys")
            raise TokenInvalid(_UNREACHABLE)
        return _usable_keys(entries)


def _usable_keys(entries: list[Any]) -> dict[str, jwt.PyJWK]:
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
