"""The owner's dashboard, its metrics (`/owner/metrics`): every metric of the analytics lake
(docs/analytics.md "Metrics") over the days picked (`?from=&to=`, a GET form that works
without script), each as tables with a chart drawn from the same figures, and each table's
CSV the API's own (`/v1/analytics/{metric}?…&format=csv`, which the browser's session cookie
signs in to). For analysts and admins, as on the API: `AnalyticsReports` decides, through
its typed dependency (never the API over HTTP); anyone else is told who may see them.
The figures are sums, counts and shares: no patient is named, and the metrics' answers have
no column that could name one. `metric_tables.py` turns each answer into rows and charts
(with `metric_figures.py`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from clinicflow.analytics.api import ReportsDep
from clinicflow.analytics.service import AnalyticsReports
from clinicflow.infra.web import ClockDep
from clinicflow.shared.actor import Actor
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.web.metric_figures import Asked, Grid
from clinicflow.web.metric_tables import Shaper
from clinicflow.web.owner_dashboard import Chart, Table
from clinicflow.web.pages import FrameDep

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

DEFAULT_DAYS = 90  # the period shown when none is picked: the last 90 days, today included
LONGEST_DAYS = 3 * 366  # a longer period is refused (its weekly tables would run on and on)
Given = Annotated[str, Query(max_length=32)]


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date
    problem: str = ""  # why the days asked for are not the ones shown, in words

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period(today: date, given_from: str, given_to: str) -> Period:
    """The days asked for (`YYYY-MM-DD`, both included), or the last 90 days, saying why."""
    shown = Period(today - timedelta(days=DEFAULT_DAYS - 1), today)
    if not given_from.strip() and not given_to.strip():
        return shown
    try:
        start = date.fromisoformat(given_from.strip()) if given_from.strip() else shown.start
        end = date.fromisoformat(given_to.strip()) if given_to.strip() else today
    except ValueError:
        return Period(shown.start, shown.end, "Days are written YYYY-MM-DD, e.g. 2027-02-01.")
    if start > end:
        return Period(shown.start, shown.end, "The first day was after the last.")
    if (end - start).days >= LONGEST_DAYS:
        return Period(shown.start, shown.end, "Pick at most three years at a time.")
    return Period(start, end)


@dataclass(frozen=True, slots=True)
class Asker:
    """Asks the use case one question over the period, and names the API's CSV of it."""

    reports: AnalyticsReports
    actor: Actor
    period: Period

    async def __call__(self, metric: str, group_by: str, view: str = "") -> Asked:
        dims = [d for d in group_by.split(",") if d]
        params = {"view": view} if view else {}
        start, end = self.period.start, self.period.end
        report = await self.reports.run(self.actor, metric, start, end, dims, params)
        query = {"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by}
        if view:
            query["view"] = view
        return Asked(report, f"/v1/analytics/{metric}?{urlencode({**query, 'format': 'csv'})}")


@dataclass(slots=True)
class Shown:
    tables: dict[str, Table] = field(default_factory=dict)
    grids: dict[str, Grid] = field(default_factory=dict)
    charts: dict[str, Chart] = field(default_factory=dict)
    withheld: int = 0  # geography's rows withheld as too small

    def add(self, *parts: Table | Grid | Chart | None) -> None:
        for part in parts:
            if isinstance(part, Table):
                self.tables[part.key] = part
            elif isinstance(part, Grid):
                self.grids[part.key] = part
            elif isinstance(part, Chart):
                self.charts[part.id] = part


# The questions the page asks: (metric, group_by, view). The first is asked alone (a caller
# who may not read metrics is refused there, and audited once); the rest together.
Q = tuple[str, str, str]
UTILIZATION: Q = ("utilization", "practitioner,week", "")
REVENUE: Q = ("revenue", "service,month", "")
REVENUE_TOTAL: Q = ("revenue", "", "")
ACQUISITION: Q = ("acquisition", "week,source", "")
WAITLIST_WEEKS: Q = ("waitlist", "service,week", "")
WAITLIST: Q = ("waitlist", "service", "")
CROSS: Q = ("cross-service", "", "")
MATRIX: Q = ("cross-service", "first_service,second_service", "")
CHURN: Q = ("churn", "service", "")
COHORTS: Q = ("retention", "cohort_month,months_after", "")
REBOOK: Q = ("retention", "service", "rebook")
NO_SHOWS = {by: ("no-shows", by, "") for by in ("service", "weekday", "lead_time")}
GEOGRAPHY: Q = ("geography", "zip3", "")
FUNNEL: Q = ("funnel", "service", "")
QUESTIONS: tuple[Q, ...] = (
    UTILIZATION, REVENUE, REVENUE_TOTAL, ACQUISITION, WAITLIST_WEEKS, WAITLIST, CROSS, MATRIX,
    CHURN, COHORTS, REBOOK, *NO_SHOWS.values(), GEOGRAPHY, FUNNEL,
)  # fmt: skip


async def shown(ask: Asker, shape: Shaper, min_cell: int) -> Shown:
    """Every metric's tables and charts. Raises Forbidden/Unauthenticated when the caller
    may not read metrics."""
    first = await ask(*QUESTIONS[0])
    rest = await asyncio.gather(*(ask(*q) for q in QUESTIONS[1:]))
    got = dict(zip(QUESTIONS, (first, *rest), strict=True))
    out = Shown()
    out.add(*shape.utilization(got[UTILIZATION]))
    out.add(*shape.revenue(got[REVENUE]), shape.revenue_total(got[REVENUE_TOTAL]))
    out.add(*shape.acquisition(got[ACQUISITION]))
    out.add(*shape.waitlist_growth(got[WAITLIST_WEEKS]), shape.waitlist_conversion(got[WAITLIST]))
    out.add(shape.cross_service(got[CROSS]), shape.transitions(got[MATRIX]))
    out.add(shape.churn(got[CHURN]), shape.cohorts(got[COHORTS]), shape.rebook(got[REBOOK]))
    for by, question in NO_SHOWS.items():
        out.add(*shape.no_shows(got[question], by))
    out.add(shape.geography(got[GEOGRAPHY], min_cell))
    out.withheld = got[GEOGRAPHY].report.suppressed
    out.add(*shape.funnel(got[FUNNEL]))
    return out


@router.get("/owner/metrics")
async def metrics(
    page: FrameDep,
    reports: ReportsDep,
    clock: ClockDep,
    given_from: Annotated[Given, Query(alias="from")] = "",
    to: Given = "",
) -> HTMLResponse:
    today = clock.now().astimezone(page.clinic_tz).date()
    chosen = period(today, given_from, to)
    shape = Shaper(page.catalog, page.catalog.clinic.currency, chosen.start, chosen.end)
    try:
        found = await shown(Asker(reports, page.actor, chosen), shape, reports.min_cell)
    except (Forbidden, Unauthenticated):
        return page.render("owner/who.html", {})
    return page.render(
        "owner/metrics.html",
        {
            "period": chosen,
            "shown": found,
            "tables": found.tables,
            "grids": found.grids,
            "charts": found.charts,
            "min_cell": reports.min_cell,
        },
    )
