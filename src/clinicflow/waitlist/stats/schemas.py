"""The statistics' response shapes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from clinicflow.waitlist.domain.stats import ServiceStats
from clinicflow.waitlist.stats.views import StatsView


class WeekOut(BaseModel):
    week: str
    starts: date
    joins: int


class FunnelOut(BaseModel):
    counts: dict[str, int]
    rates: dict[str, float | None]


class ServiceStatsOut(BaseModel):
    service: str
    size: int
    waiting: int
    by_state: dict[str, int]
    growth: list[WeekOut]
    by_zip3: dict[str, int]
    by_distance_band: dict[str, int]
    funnel: FunnelOut
    conversion_rate: float | None
    conversion_rate_basis: str | None
    conversion_potential: float | None

    @classmethod
    def of(cls, s: ServiceStats) -> ServiceStatsOut:
        return cls(
            service=s.service,
            size=s.size,
            waiting=s.waiting,
            by_state=s.by_state,
            growth=[WeekOut(week=w.week, starts=w.starts, joins=w.joins) for w in s.growth],
            by_zip3=s.by_zip3,
            by_distance_band=s.by_distance_band,
            funnel=FunnelOut(counts=s.funnel.counts, rates=s.funnel.rates),
            conversion_rate=s.conversion_rate,
            conversion_rate_basis=s.conversion_rate_basis,
            conversion_potential=s.conversion_potential,
        )


class StatsOut(BaseModel):
    generated_at: datetime
    timezone: str
    clinic_conversion_rate: float | None
    services: list[ServiceStatsOut]

    @classmethod
    def of(cls, view: StatsView) -> StatsOut:
        return cls(
            generated_at=view.generated_at,
            timezone=view.timezone,
            clinic_conversion_rate=view.clinic_conversion_rate,
            services=[ServiceStatsOut.of(s) for s in view.services],
        )
