"""The statistics' response shapes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from clinicflow.infra.response_model import ResponseModel
from clinicflow.waitlist.domain.stats import ServiceStats
from clinicflow.waitlist.stats.views import StatsView


class WeekOut(BaseModel):
    week: str
    starts: date
    joins: int


class FunnelOut(BaseModel):
    counts: dict[str, int]
    rates: dict[str, float | None]


class ServiceStatsOut(ResponseModel[ServiceStats]):
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


class StatsOut(ResponseModel[StatsView]):
    generated_at: datetime
    timezone: str
    clinic_conversion_rate: float | None
    services: list[ServiceStatsOut]
