"""Building response shapes from views, and the statistics' shapes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from clinicflow.waitlist.domain.stats import ServiceStats
from clinicflow.waitlist.schemas import (
    ComponentOut,
    EntryListOut,
    EntryOut,
    JoinOut,
    SourceOut,
    StatusOut,
)
from clinicflow.waitlist.views import (
    EntryList,
    EntryView,
    JoinResult,
    PublicView,
    Standing,
    StatsView,
)

DIGITS = 4  # shown rounded; positions are computed from the unrounded scores


def components(standing: Standing) -> list[ComponentOut]:
    return [
        ComponentOut(
            name=c.name,
            value=round(c.value, DIGITS),
            weight=c.weight,
            contribution=round(c.contribution, DIGITS),
            reason=c.reason,
        )
        for c in standing.score.components
    ]


def status_out(view: PublicView) -> StatusOut:
    return StatusOut(
        service=view.service,
        status=view.status,
        joined_at=view.joined_at,
        position=view.standing.position,
        priority_score=round(view.standing.score.total, DIGITS),
        components=components(view.standing),
        weights=view.weights,
    )


def join_out(result: JoinResult, status_url: str | None) -> JoinOut:
    base = status_out(result.view).model_dump()
    return JoinOut(
        **base,
        id=result.id,
        already_joined=result.already_joined,
        token=result.token,
        status_url=status_url,
    )


def entry_out(view: EntryView) -> EntryOut:
    return EntryOut(
        id=view.id,
        service=view.service,
        status=view.status,
        position=view.standing.position,
        priority_score=round(view.standing.score.total, DIGITS),
        components=components(view.standing),
        first_name=view.first_name,
        last_name=view.last_name,
        email=view.email,
        phone=view.phone,
        zip=view.zip,
        zip3=view.zip3,
        distance_miles=view.distance_mi,
        interest_level=view.interest_level,
        channels=view.channels,
        preferred_practitioner=view.preferred_practitioner,
        preferred_times=view.preferred_times,
        source=SourceOut(campaign=view.campaign, referrer=view.referrer),
        stages=view.stages,
        patient_id=view.patient_id,
        booking_id=view.booking_id,
        joined_at=view.joined_at,
        status_at=view.status_at,
        version=view.version,
    )


def entry_list_out(found: EntryList) -> EntryListOut:
    return EntryListOut(weights=found.weights, entries=[entry_out(v) for v in found.entries])


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
