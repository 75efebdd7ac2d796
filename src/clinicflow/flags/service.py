"""Flags: evaluation, the per-process cache, and admin changes.

Each process re-reads the table at most every `ttl` (a change reaches every replica within
it) and at once after its own change. Who a flag reaches: `domain.rollout`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from clinicflow.flags.domain.rollout import DEFAULTS, default_text, reaches
from clinicflow.flags.ports import FlagsUnitOfWork
from clinicflow.flags.views import FlagView
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor, Role, require
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest


class FlagService:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[FlagsUnitOfWork],
        clock: Clock,
        ttl: timedelta = timedelta(seconds=5),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ttl = ttl
        self._cached: dict[str, FlagView] = {}
        self._loaded_at: datetime | None = None

    async def is_enabled(self, key: str, client_id: str | None = None) -> bool:
        flag = (await self._all()).get(key)
        return flag is not None and reaches(key, flag.enabled, flag.percentage, client_id)

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
        flag = FlagView(
            key=key,
            enabled=enabled,
            percentage=percentage,
            description=description if description is not None else default_text(key),
            updated_at=self._clock.now(),
            updated_by=actor.id or actor.kind,
        )
        async with self._uow() as uow:
            await uow.flags.put(flag)
            await uow.commit()
        self._loaded_at = None  # this process sees its own change at once
        return (await self._all())[key]

    async def _all(self, fresh: bool = False) -> dict[str, FlagView]:
        now = self._clock.now()
        if fresh or self._loaded_at is None or now - self._loaded_at >= self._ttl:
            async with self._uow.reading() as uow:
                stored = await uow.flags.all()
            found = {
                k: FlagView(k, on, 100, text, None, None) for k, (on, text) in DEFAULTS.items()
            }
            found |= {flag.key: flag for flag in stored}
            self._cached, self._loaded_at = found, now
        return self._cached
