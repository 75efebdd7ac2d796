"""The funnel's first step (analytics/service.py `AvailabilityViews`): each availability answer
is counted for the clinic's own day (config/clinic.yaml: America/Chicago), on either side of
its midnights, with a clock that is set back too, and only for a service the catalog has;
`flush` adds the counts to the stored ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from clinicflow.analytics.service import AvailabilityViews
from clinicflow.catalog.service import load_catalog
from clinicflow.shared.clock import FixedClock
from support.app import CLINIC_YAML
from support.fake_analytics import FakeAnalyticsUnitOfWork, fake_analytics
from support.fake_uow import FakeFactory

# 2026-11-24 23:59 in Chicago (UTC-6) is 2026-11-25 05:59 UTC.
BEFORE_MIDNIGHT = datetime(2026, 11, 25, 5, 59, tzinfo=UTC)
ALT, GAPS = "alternative_medicine", "gaps_coaching"


async def stored(
    views: AvailabilityViews, uow: FakeFactory[FakeAnalyticsUnitOfWork]
) -> list[tuple[date, str, int]]:
    await views.flush()
    async with uow() as unit:
        return await unit.views.between(date(2026, 1, 1), date(2027, 1, 1))


async def test_views_count_for_the_clinics_day_across_its_midnights() -> None:
    uow, _, _ = fake_analytics()
    clock = FixedClock(BEFORE_MIDNIGHT)
    views = AvailabilityViews(uow=uow, catalog=load_catalog(CLINIC_YAML), clock=clock, every=1e9)

    views.seen(ALT)  # 23:59 on the 24th, Chicago
    clock.advance(timedelta(minutes=2))
    views.seen(ALT)  # 00:01 on the 25th
    views.seen(GAPS)
    clock.advance(timedelta(days=1))
    views.seen(ALT)  # 00:01 on the 26th
    clock.set(BEFORE_MIDNIGHT - timedelta(hours=5))
    views.seen(ALT)  # the clock set back: 18:59 on the 24th
    views.seen("massage")  # no such service: not counted

    assert await stored(views, uow) == [
        (date(2026, 11, 24), ALT, 2),
        (date(2026, 11, 25), ALT, 1),
        (date(2026, 11, 25), GAPS, 1),
        (date(2026, 11, 26), ALT, 1),
    ]


@pytest.mark.parametrize(
    ("day", "first", "late", "next_day"),
    [
        # 2026-03-08 lasted 23 hours (clocks went forward): 01:00 CST, 23:30 CDT, 00:30 CDT.
        (date(2026, 3, 8), "2026-03-08T07:00", "2026-03-09T04:30", "2026-03-09T05:30"),
        # 2026-11-01 lasted 25 hours (clocks went back): 01:00 CDT, 23:30 CST, 00:30 CST.
        (date(2026, 11, 1), "2026-11-01T06:00", "2026-11-02T05:30", "2026-11-02T06:30"),
    ],
)
async def test_a_day_that_is_not_24_hours_long_ends_at_its_own_midnight(
    day: date, first: str, late: str, next_day: str
) -> None:
    uow, _, _ = fake_analytics()
    clock = FixedClock(utc(first))
    views = AvailabilityViews(uow=uow, catalog=load_catalog(CLINIC_YAML), clock=clock, every=1e9)

    views.seen(ALT)
    clock.set(utc(late))  # 23:30 that day
    views.seen(ALT)
    clock.set(utc(next_day))  # 00:30 the next
    views.seen(ALT)

    assert await stored(views, uow) == [(day, ALT, 2), (day + timedelta(days=1), ALT, 1)]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
