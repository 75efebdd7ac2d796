"""API keys: created, listed, rotated and revoked by staff (the CLI); checked on every request
that presents one, and by the OAuth token endpoint as client credentials."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import timedelta

from clinicflow.identity.api_keys.domain import keys
from clinicflow.identity.api_keys.domain.keys import ApiKey
from clinicflow.identity.api_keys.views import ApiKeyView
from clinicflow.identity.domain.tokens import digest
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.ports import IdentityUnitOfWork
from clinicflow.identity.sessions.domain.session import should_touch
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest, NotFound


class ApiKeys:
    def __init__(self, *, uow: UnitsOfWork[IdentityUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def create(
        self, name: str, owner: str, scopes: Iterable[str], tier: str = "standard"
    ) -> tuple[ApiKeyView, str]:
        """The key's record and the full key, which is never shown again."""
        async with self._uow() as uow:
            key, full = await self._add(uow, name, owner, scopes, tier)
            await uow.commit()
        return ApiKeyView.of(key), full

    async def _add(
        self, uow: IdentityUnitOfWork, name: str, owner: str, scopes: Iterable[str], tier: str
    ) -> tuple[ApiKey, str]:
        granted = tuple(sorted(set(scopes)))
        problems = keys.problems(name, owner, granted, tier)
        if problems:
            raise InvalidRequest("; ".join(problems))
        key_id, secret = keys.new_key_id(), keys.new_secret()
        key = ApiKey(key_id, digest(secret), name, owner, granted, tier, self._clock.now())
        await uow.api_keys.add(key)
        return key, keys.full_key(key_id, secret)

    async def list(self) -> list[ApiKeyView]:
        async with self._uow.reading() as uow:
            return [ApiKeyView.of(k) for k in await uow.api_keys.all()]

    async def get(self, key_id: str) -> ApiKeyView:
        async with self._uow.reading() as uow:
            return ApiKeyView.of(await _existing(uow, key_id))

    async def revoke(self, key_id: str, *, after: timedelta = timedelta(0)) -> ApiKeyView:
        """Revoked `after` from now (at once by default); an earlier revocation stands."""
        async with self._uow() as uow:
            await _existing(uow, key_id)
            await uow.api_keys.revoke(key_id, self._clock.now() + after)
            revoked = await _existing(uow, key_id)
            await uow.commit()
        return ApiKeyView.of(revoked)

    async def rotate(self, key_id: str, grace: timedelta) -> tuple[ApiKeyView, str]:
        """A new key with the old one's name, owner, scopes and tier; the old one keeps
        working for `grace`, then is revoked. All or nothing, in one transaction."""
        now = self._clock.now()
        async with self._uow() as uow:
            old = await _existing(uow, key_id)
            if not old.active(now):
                raise InvalidRequest(f"API key {key_id} is revoked; create a new key instead")
            new, full = await self._add(uow, old.name, old.owner, old.scopes, old.tier)
            await uow.api_keys.replace(key_id, new.id)
            await uow.api_keys.revoke(key_id, now + grace)
            await uow.commit()
        return ApiKeyView.of(new), full

    async def authenticate(self, presented: str) -> ApiKeyView:
        parsed = keys.parse(presented)
        if parsed is None:
            raise TokenInvalid("malformed API key; it looks like cfk_<id>_<secret>")
        return await self.check_secret(*parsed)

    async def check_secret(self, key_id: str, secret: str) -> ApiKeyView:
        """For API keys and the OAuth client_credentials grant (client_id, client_secret)."""
        async with self._uow.reading() as uow:
            key = await uow.api_keys.get(key_id)
        if key is None or not hmac.compare_digest(key.secret_hash, digest(secret)):
            raise TokenInvalid("unknown API key or client credentials")
        now = self._clock.now()
        if not key.active(now):
            raise TokenInvalid(f"API key {key_id} was revoked; ask its owner for a new key")
        if key.last_used_at is None or should_touch(key.last_used_at, now):
            async with self._uow() as uow:
                await uow.api_keys.touch(key_id, now)
                await uow.commit()
        return ApiKeyView.of(key)

    async def active_client(self, key_id: str) -> ApiKeyView:
        """For tokens issued to a client: a revoked client's tokens stop working at once."""
        async with self._uow.reading() as uow:
            key = await uow.api_keys.get(key_id)
        if key is None:
            raise TokenInvalid("the token's client no longer exists")
        if not key.active(self._clock.now()):
            raise TokenInvalid(f"client {key_id} was revoked; its tokens no longer work")
        return ApiKeyView.of(key)


async def _existing(uow: IdentityUnitOfWork, key_id: str) -> ApiKey:
    key = await uow.api_keys.get(key_id)
    if key is None:
        raise NotFound(f"no API key {key_id!r}; `clinicflow apikeys list` shows them")
    return key
