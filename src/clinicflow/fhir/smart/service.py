"""SMART Backend Services: registering system clients, trading a signed assertion for an
access token, and the actor a token stands for.

`exchange` checks the request (domain/assertions.py), finds the client and its key (from its
registered JWKS, or its JWKS URL fetched with the injected client and cached briefly, with
one refetch when the kid is unknown), verifies the signature and claims, then spends the
`jti` and stores the token in one transaction: a reused `jti` is refused even when two
requests race with it. Tokens are opaque (`cfsm_…`), stored as their SHA-256, and live
`ttl`; they open only the FHIR API.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import httpx
import jwt

from clinicflow.fhir.smart.domain import assertions, scopes
from clinicflow.fhir.smart.domain.assertions import AssertionRefused, Presented
from clinicflow.fhir.smart.errors import (
    SmartClientNotFound,
    SmartClientRefused,
    SmartTokenError,
    SmartTokenInvalid,
)
from clinicflow.fhir.smart.ports import SmartUnitOfWork
from clinicflow.fhir.smart.views import IssuedSmartToken, SmartClient, TokenGrant
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

log = get_logger(__name__)
JWKS_CACHE_FOR = timedelta(minutes=5)
REFETCH_AT_MOST_EVERY = timedelta(seconds=30)  # on an unknown kid, per JWKS URL
_REFUSED_KEY = "the client's registered keys hold no usable key with this kid for this alg"


class SmartClients:
    """The registry: `clinicflow fhir client add|list|revoke`."""

    def __init__(self, *, uow: UnitsOfWork[SmartUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def add(
        self, name: str, scope: str, *, jwks_url: str | None, jwks: str | None
    ) -> SmartClient:
        if (jwks_url is None) == (jwks is None):
            raise InvalidRequest("register the client with a JWKS URL or with its public key")
        if jwks_url is not None and not jwks_url.startswith(("https://", "http://")):
            raise InvalidRequest("the JWKS URL must be an http(s) address")
        if jwks is not None:
            _check_public_jwks(jwks)
        try:
            granted = scopes.parse(scope)
        except scopes.ScopeRefused as exc:
            raise InvalidRequest(str(exc)) from None
        if not granted:
            raise InvalidRequest(f"give the client scopes among {' '.join(scopes.SUPPORTED)}")
        client = SmartClient(
            id=assertions.new_client_id(),
            name=name,
            jwks_url=jwks_url,
            jwks=jwks,
            scopes=tuple(granted),
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.clients.add(client)
            await uow.commit()
        return client

    async def listed(self) -> list[SmartClient]:
        async with self._uow.reading() as uow:
            return await uow.clients.listed()

    async def revoke(self, client_id: str) -> None:
        async with self._uow() as uow:
            if not await uow.clients.revoke(client_id, self._clock.now()):
                raise SmartClientNotFound(f"no active SMART client {client_id!r}")
            await uow.commit()


def _check_public_jwks(text: str) -> None:
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidRequest("the public key must be a JWKS document or a JWK (JSON)") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise InvalidRequest("the JWKS document holds no keys")
    for key in keys:
        if not isinstance(key, dict) or not isinstance(key.get("kid"), str) or "d" in key:
            raise InvalidRequest("every key needs a kid, and only public keys are registered")


def as_jwks(text: str) -> str:
    """A JWK or a JWKS document, as a JWKS document."""
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidRequest("the public key must be a JWKS document or a JWK (JSON)") from None
    if isinstance(document, dict) and "keys" not in document:
        document = {"keys": [document]}
    return json.dumps(document)


class SmartTokens:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[SmartUnitOfWork],
        clock: Clock,
        http: httpx.AsyncClient,
        token_url: str,
        ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._http = http
        self.token_url = token_url
        self._ttl = ttl
        self._fetched: dict[str, tuple[datetime, object]] = {}
        self._refetched: dict[str, datetime] = {}
        self._lock = asyncio.Lock()

    async def exchange(
        self,
        grant_type: str | None,
        assertion_type: str | None,
        assertion: str | None,
        scope: str | None,
    ) -> IssuedSmartToken:
        try:
            signed = assertions.check_form(grant_type, assertion_type, assertion)
            seen = assertions.presented(signed)
        except AssertionRefused as exc:
            raise _refusal(exc) from None
        client = await self._client(seen.client_id)
        try:
            key = await self._key(client, seen)
            verified = assertions.verify(
                signed, key, seen, audience=self.token_url, now=self._clock.now()
            )
            granted = scopes.granted(list(client.scopes), scope or "")
        except AssertionRefused as exc:
            raise _refusal(exc) from None
        except scopes.ScopeRefused as exc:
            raise SmartTokenError(str(exc), error="invalid_scope") from None
        token, digest = assertions.new_token()
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.assertions.spend(client.id, verified.jti, verified.expires_at):
                raise SmartClientRefused(
                    "client_assertion jti was used before; sign a new assertion for each request",
                    error="invalid_client",
                )
            await uow.tokens.add(digest, TokenGrant(client.id, tuple(granted), now + self._ttl))
            await uow.commit()
        log.info("smart_token_issued", client=client.id, scopes=" ".join(granted))
        return IssuedSmartToken(token, int(self._ttl.total_seconds()), " ".join(granted))

    async def actor_for(self, token: str) -> Actor:
        """The client a token was issued to, with its SMART scopes and those they stand for."""
        async with self._uow.reading() as uow:
            grant = await uow.tokens.find(assertions.token_digest(token))
            client = await uow.clients.get(grant.client_id) if grant else None
        now = self._clock.now()
        if grant is None or client is None or grant.expires_at <= now:
            raise SmartTokenInvalid("the access token is unknown or expired; ask for a new one")
        if client.revoked_at is not None:
            raise SmartTokenInvalid("the client of this access token was revoked")
        return Actor(
            kind="client",
            id=client.id,
            role=Role.CLIENT,
            scopes=scopes.actor_scopes(list(grant.scopes)),
            tier="standard",
        )

    async def _client(self, client_id: str) -> SmartClient:
        async with self._uow.reading() as uow:
            client = await uow.clients.get(client_id[:64])
        if client is None or client.revoked_at is not None:
            raise SmartClientRefused(
                "client_assertion iss names no registered SMART client", error="invalid_client"
            )
        return client

    async def _key(self, client: SmartClient, seen: Presented) -> jwt.PyJWK:
        if client.jwks is not None:
            key = assertions.usable_key(json.loads(client.jwks), seen.kid, seen.alg)
        else:
            key = await self._fetched_key(client, seen, fresh=False)
            if key is None:  # the client may have rotated its keys: look once more
                key = await self._fetched_key(client, seen, fresh=True)
        if key is None:
            raise AssertionRefused(_REFUSED_KEY)
        return key

    async def _fetched_key(
        self, client: SmartClient, seen: Presented, *, fresh: bool
    ) -> jwt.PyJWK | None:
        url = client.jwks_url or ""
        async with self._lock:
            now = self._clock.now()
            cached = self._fetched.get(url)
            if fresh or cached is None or now - cached[0] > JWKS_CACHE_FOR:
                last = self._refetched.get(url)
                if fresh and last is not None and now - last < REFETCH_AT_MOST_EVERY:
                    return None  # made-up kids do not make us fetch a client's keys in a loop
                if fresh:
                    self._refetched[url] = now
                try:
                    answer = await self._http.get(url, timeout=5.0)
                    answer.raise_for_status()
                    cached = (now, answer.json())
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning(
                        "smart_jwks_fetch_failed", client=client.id, error=type(exc).__name__
                    )
                    raise AssertionRefused("the client's JWKS URL could not be read") from None
                self._fetched[url] = cached
        return assertions.usable_key(cached[1], seen.kid, seen.alg)


def _refusal(exc: AssertionRefused) -> SmartTokenError:
    if exc.error == "invalid_client":
        return SmartClientRefused(exc.detail, error=exc.error)
    return SmartTokenError(exc.detail, error=exc.error)
