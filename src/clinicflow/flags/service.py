"""Flags: evaluation, the per-process cache, and admin changes.

A flag reaches a client when it is enabled and the client's bucket (a stable hash of flag and
client id, 0..99) is under its percentage: the same client always gets the same answer, and
raising the percentage only adds clients. Unknown flags are off, with their default from
`DEFAULTS` until an admin sets them. Each process re-reads the table at most every
`ttl` seconds (a change reaches every replica within it) and at once after its own change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from clinicflow.flags.tables import flags
from clinicflow.infra.db import Database
from clinicflow.shared.actor import Actor, Role, require
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

# The platform's flags, and whether each is on before an admin says otherwise.
DEFAULTS: Mapping[str, tuple[bool, str]] = {
    "paypal_backup": (True, "offer PayPal when Stripe is unavailable"),
    "waitlist_auto_offers": (True, "offer freed slots to waitlist entries automatically"),
}


@dataclass(frozen=True, slots=True)
class FlagView:
    key: str
    enabled: bool
    percentage: int
    description: str
    updated_at: datetime | None
    updated_by: str | None


def in_rollout(key: str, client_id: str, percentage: int) -> bool:
    digest = hashlib.sha256(f"{key}:{client_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percentage


class FlagService:
    def __init__(self, db: Database, clock: Clock, ttl: timedelta = timedelta(seconds=5)) -> None:
        self._db = db
        self._clock = clock
        self._ttl = ttl
        self._cached: dict[str, FlagView] = {}
        self._loaded_at: datetime | None = None

    async def is_enabled(self, key: str, client_id: str | None = None) -> bool:
        flag = (await self._all()).get(key)
        if flag is None or not flag.enabled:
            return False
        if flag.percentage >= 100:
            return True
        return client_id is not None and in_rollout(key, client_id, flag.percentage)

    async def list(self, actor: Actor) -> list[FlagView]:
        require(actor, actor.role == Role.ADMIN, "only an admin may read feature flags")
        return sorted((await self._all(fresh=True)).values(), key=lambda f: f.key)

    async def set(
        self,
        actor: Actor,
        key: str,
        enabled: bool,
        percentage: int = 100,
        description: str | None = None,
    ) -> FlagView:
        require(actor, actor.role == Role.ADMIN, "only an admin may change feature flags")
        if not 0 <= percentage <= 100:
            raise InvalidRequest(f"percentage must be 0 to 100, not {percentage}")
        row = {
            "key": key,
            "enabled": enabled,
            "percentage": percentage,
            "description": description if description is not None else _default_text(key),
            "updated_at": self._clock.now(),
            "updated_by": actor.id or actor.kind,
        }
        async with self._db.write() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(flags).values(row)
            changed = {k: v for k, v in row.items() if k != "key"}
            await conn.execute(
                statement.on_conflict_do_update(index_elements=["key"], set_=changed)
            )
        self._loaded_at = None  # this process sees its own change at once
        return (await self._all())[key]

    async def _all(self, fresh: bool = False) -> dict[str, FlagView]:
        now = self._clock.now()
        if fresh or self._loaded_at is None or now - self._loaded_at >= self._ttl:
            async with self._db.read() as conn:
                rows = (await conn.execute(select(flags))).all()
            found = {
                k: FlagView(k, on, 100, text, None, None) for k, (on, text) in DEFAULTS.items()
            }
            found |= {r.key: FlagView(*r) for r in rows}
            self._cached, self._loaded_at = found, now
        return self._cached


def _default_text(key: str) -> str:
    return DEFAULTS.get(key, (False, ""))[1]
