"""API keys for integrations: `cfk_<id>_<secret>`, shown once, stored as a digest.

The id is public (it names the key in lists and logs, and is the OAuth client_id); only
the secret's SHA-256 is kept. Rotation issues a new key with the same owner, scopes and tier
and lets the old one live for a grace period, so a deployment can switch without downtime.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from clinicflow.identity.domain.sessions import should_touch
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.secrets_ import digest
from clinicflow.identity.tables import api_keys
from clinicflow.infra.db import Database
from clinicflow.shared.actor import Scope
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest, NotFound

PREFIX = "cfk_"
_SHAPE = re.compile(r"^cfk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{20,})$")
_TIER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
SCOPES = frozenset(s.value for s in Scope)


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    id: str
    name: str
    owner: str
    scopes: tuple[str, ...]
    tier: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None or self.revoked_at > now

    @classmethod
    def of(cls, row: Any) -> ApiKeyView:
        return cls(
            row.id,
            row.name,
            row.owner,
            tuple(row.scopes),
            row.tier,
            row.created_at,
            row.last_used_at,
            row.revoked_at,
            row.replaced_by,
        )


class ApiKeys:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self, name: str, owner: str, scopes: Iterable[str], tier: str = "standard"
    ) -> tuple[ApiKeyView, str]:
        """The key's record and the full key, which is never shown again."""
        scopes = sorted(set(scopes))
        _check(name, owner, scopes, tier)
        key_id = "".join(
            secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
            for _ in range(12)
        )
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        async with self._db.write() as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    secret_hash=digest(secret),
                    name=name,
                    owner=owner,
                    scopes=scopes,
                    tier=tier,
                    created_at=now,
                )
            )
        view = ApiKeyView(key_id, name, owner, tuple(scopes), tier, now, None, None, None)
        return view, f"{PREFIX}{key_id}_{secret}"

    async def list(self) -> list[ApiKeyView]:
        async with self._db.read() as conn:
            rows = await conn.execute(select(api_keys).order_by(api_keys.c.created_at))
            return [ApiKeyView.of(r) for r in rows]

    async def get(self, key_id: str) -> ApiKeyView:
        async with self._db.read() as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        if row is None:
            raise NotFound(f"no API key {key_id!r}; `clinicflow apikeys list` shows them")
        return ApiKeyView.of(row)

    async def revoke(self, key_id: str, *, after: timedelta = timedelta(0)) -> ApiKeyView:
        await self.get(key_id)
        at = self._clock.now() + after
        async with self._db.write() as conn:
            await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id)
                .where((api_keys.c.revoked_at.is_(None)) | (api_keys.c.revoked_at > at))
                .values(revoked_at=at)
            )
        return await self.get(key_id)

    async def rotate(self, key_id: str, grace: timedelta) -> tuple[ApiKeyView, str]:
        old = await self.get(key_id)
        if not old.active(self._clock.now()):
            raise InvalidRequest(f"API key {key_id} is revoked; create a new key instead")
        new, full = await self.create(old.name, old.owner, old.scopes, old.tier)
        async with self._db.write() as conn:
            await conn.execute(
                update(api_keys).where(api_keys.c.id == key_id).values(replaced_by=new.id)
            )
        await self.revoke(key_id, after=grace)
        return new, full

    async def authenticate(self, presented: str) -> ApiKeyView:
        match = _SHAPE.match(presented)
        if match is None:
            raise TokenInvalid("malformed API key; it looks like cfk_<id>_<secret>")
        return await self.check_secret(match.group(1), match.group(2))

    async def check_secret(self, key_id: str, secret: str) -> ApiKeyView:
        """For API keys and the OAuth client_credentials grant (client_id, client_secret)."""
        async with self._db.read() as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        if row is None or not hmac.compare_digest(row.secret_hash, digest(secret)):
            raise TokenInvalid("unknown API key or client credentials")
        view = ApiKeyView.of(row)
        now = self._clock.now()
        if not view.active(now):
            raise TokenInvalid(f"API key {key_id} was revoked; ask its owner for a new key")
        if view.last_used_at is None or should_touch(view.last_used_at, now):
            async with self._db.write() as conn:
                await conn.execute(
                    update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now)
                )
        return view

    async def active_client(self, key_id: str) -> ApiKeyView:
        """For tokens issued to a client: a revoked client's tokens stop working at once."""
        try:
            view = await self.get(key_id)
        except NotFound:
            raise TokenInvalid("the token's client no longer exists") from None
        if not view.active(self._clock.now()):
            raise TokenInvalid(f"client {key_id} was revoked; its tokens no longer work")
        return view


def _check(name: str, owner: str, scopes: list[str], tier: str) -> None:
    problems = []
    if not 1 <= len(name) <= 100:
        problems.append("name: 1 to 100 characters")
    if not 1 <= len(owner) <= 100:
        problems.append("owner: 1 to 100 characters (who answers for this key)")
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        problems.append(f"scopes {unknown} unknown: use {', '.join(sorted(SCOPES))}")
    if not _TIER.match(tier):
        problems.append("tier: lower-case letters, digits, - or _, e.g. standard")
    if problems:
        raise InvalidRequest("; ".join(problems))
