"""The waitlist's statistics, per service: sizes, weekly growth, ZIP3 areas and distance
bands, the conversion funnel and potential (definitions in domain/stats.py). Aggregates
only: no row read here identifies anyone, so reading them leaves no audit row."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.catalog import Catalog
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist.domain.access import Need
from clinicflow.waitlist.domain.choices import unknown_service
from clinicflow.waitlist.domain.policy import WaitlistPolicy
from clinicflow.waitlist.domain.stats import conversion_rate, summarize
from clinicflow.waitlist.errors import invalid
from clinicflow.waitlist.guard import WaitlistGuard
from clinicflow.waitlist.ports import WaitlistUnitOfWork
from clinicflow.waitlist.stats.views import StatsView


@dataclass(kw_only=True, eq=False)
class WaitlistStats:
    uow: UnitsOfWork[WaitlistUnitOfWork]
    clock: Clock
    catalog: Catalog
    guard: WaitlistGuard
    policy: WaitlistPolicy

    async def stats(self, actor: Actor, service: str | None = None, weeks: int = 12) -> StatsView:
        await self.guard.require(actor, Need.STATS)
        if service is not None and service not in self.catalog.services:
            raise invalid([unknown_service(self.catalog, service)])
        now = self.clock.now()
        tz = self.catalog.clinic.tz
        async with self.uow.reading() as uow:
            rows = await uow.stats.rows(tz)
        clinic_rate = conversion_rate([r for group in rows.values() for r in group])
        keys = [k for k, s in self.catalog.services.items() if s.active or s.waitlist]
        keys += sorted(set(rows) - set(keys))  # entries of a service since removed from config
        if service is not None:
            keys = [service]
        today = now.astimezone(tz).date()
        bands = self.policy.distance_bands
        summaries = [
            summarize(k, rows.get(k, []), today=today, weeks=weeks, bands=bands,
                      clinic_rate=clinic_rate)
            for k in keys
        ]  # fmt: skip
        return StatsView(now, str(tz), clinic_rate, summaries)
