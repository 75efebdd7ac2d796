"""Reading the waitlist: the person's view by token, the staff list, the statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist import checks
from clinicflow.waitlist import repository as repo
from clinicflow.waitlist.cipher import WaitlistCipher
from clinicflow.waitlist.domain.access import Need
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.stats import conversion_rate, summarize
from clinicflow.waitlist.errors import invalid, no_link
from clinicflow.waitlist.guard import WaitlistGuard, access
from clinicflow.waitlist.queries import listed, standing_of, standings, stat_rows
from clinicflow.waitlist.views import EntryList, EntryView, PublicView, Standing, StatsView

TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class WaitlistReader:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        cipher: WaitlistCipher,
        guard: WaitlistGuard,
        policy: WaitlistPolicy,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._cipher = cipher
        self._guard = guard
        self._policy = policy

    async def by_token(self, token: str) -> PublicView:
        """No audit row: the view holds nothing that identifies or reaches the person."""
        if not 20 <= len(token) <= 128 or not set(token) <= TOKEN_CHARS:
            raise no_link()
        now = self._clock.now()
        async with self._db.read() as conn:
            row = await repo.load_by_token(conn, checks.token_hash(token))
            if row is None:
                raise no_link()
            standing = await standing_of(conn, row, now, self._policy)
        weights = self._policy.weights.as_dict()
        return PublicView(row.service, row.status, row.joined_at, standing, weights)

    async def entries(
        self,
        actor: Actor,
        service: str | None = None,
        status: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> EntryList:
        """Per service (catalog order), queued entries by position, then the rest by join
        time. Positions are over the whole service, whatever the page. Every entry shown is
        an audited read."""
        await self._guard.require(actor, Need.LIST)
        self._known(service)
        now = self._clock.now()
        async with self._db.read() as conn:
            rows = await listed(conn, service, status)
            stand: dict[str, Standing] = {}
            for key in dict.fromkeys(r.service for r in rows):
                stand |= await standings(conn, key, now, self._policy)
            for row in rows:
                if row.id not in stand:
                    stand[row.id] = await standing_of(conn, row, now, self._policy)
        page = sorted(rows, key=lambda r: self._order(r, stand[r.id]))[offset : offset + limit]
        await self._guard.trail.record_alone(actor, "read", [access(r) for r in page])
        views = [EntryView.of(r, stand[r.id], self._cipher) for r in page]
        return EntryList(self._policy.weights.as_dict(), views)

    async def stats(self, actor: Actor, service: str | None = None, weeks: int = 12) -> StatsView:
        await self._guard.require(actor, Need.STATS)
        self._known(service)
        now = self._clock.now()
        tz = self._catalog.clinic.tz
        async with self._db.read() as conn:
            rows = await stat_rows(conn, tz)
        clinic_rate = conversion_rate([r for group in rows.values() for r in group])
        keys = [k for k, s in self._catalog.services.items() if s.active or s.waitlist]
        keys += sorted(set(rows) - set(keys))  # entries of a service since removed from config
        if service is not None:
            keys = [service]
        today = now.astimezone(tz).date()
        bands = self._policy.distance_bands
        summaries = [
            summarize(k, rows.get(k, []), today=today, weeks=weeks, bands=bands,
                      clinic_rate=clinic_rate)
            for k in keys
        ]  # fmt: skip
        return StatsView(now, str(tz), clinic_rate, summaries)

    def _order(self, row: Any, standing: Standing) -> tuple[int, str, int, int, datetime, str]:
        services = list(self._catalog.services)
        first = services.index(row.service) if row.service in services else len(services)
        position = standing.position
        queued = 0 if position is not None else 1
        return (first, row.service, queued, position or 0, row.joined_at, row.id)

    def _known(self, service: str | None) -> None:
        if service is not None and service not in self._catalog.services:
            keys = ", ".join(self._catalog.services)
            raise invalid([("service", f"no service {service!r}; choose one of {keys}")])
