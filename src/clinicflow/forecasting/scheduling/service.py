"""The schedule proposal use case: next week's forecast demand per service and day, the
practitioners' possible hours, the clinic's rules, solved with CP-SAT and compared with the
greedy rule on the same demand. A proposal is an answer, never a change to anyone's hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from clinicflow.catalog import Catalog
from clinicflow.forecasting.demand.domain.series import Visit, mean_minutes, week_of
from clinicflow.forecasting.demand.guard import PlanningGuard
from clinicflow.forecasting.demand.service import DemandForecasts
from clinicflow.forecasting.scheduling.domain.solver import propose
from clinicflow.forecasting.scheduling.domain.week import Rules, Week, greedy, possible_slots
from clinicflow.forecasting.scheduling.views import Proposal, ShiftView
from clinicflow.shared.actor import Actor

REGULAR_WEEKS = 8  # a practitioner's share of a service's visits over this many weeks


def regulars(visits: list[Visit], since: date) -> dict[tuple[str, str], float]:
    """Each practitioner's share of each service's visits since `since`: who the regular
    patients are used to seeing."""
    counts: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = {}
    for v in visits:
        if v.cancelled_at is None and v.start.date() >= since:
            counts[(v.practitioner, v.service)] = counts.get((v.practitioner, v.service), 0) + 1
            totals[v.service] = totals.get(v.service, 0) + 1
    return {(p, s): n / totals[s] for (p, s), n in counts.items()}


@dataclass(kw_only=True, eq=False)
class ScheduleProposals:
    demand: DemandForecasts
    catalog: Catalog
    guard: PlanningGuard
    rules: Rules = field(default_factory=Rules)
    seconds: float = 10.0

    async def next_week(self, actor: Actor, scale: float = 1.0) -> Proposal:
        """The coming week (from next Monday). `scale` multiplies the forecast demand: what
        if next week is that much busier."""
        await self.guard.proposals(actor, "schedule")
        visits = await self.demand.visits()
        return self.proposal(visits, scale)

    def week_of_demand(self, visits: list[Visit], scale: float = 1.0) -> Week:
        forecast = self.demand.predict(visits, "service", 2)
        monday = week_of(forecast.as_of + timedelta(days=7))
        minutes = mean_minutes(visits)
        demand = {
            (d.key, d.day): round(d.visits * scale * minutes.get(d.key, 0.0))
            for d in forecast.days
            if week_of(d.day) == monday
        }
        services = {s for s, _ in demand}
        tz = self.catalog.clinic.tz
        slots = possible_slots(list(self.catalog.practitioners.values()), monday, tz, services)
        shares = regulars(visits, monday - timedelta(weeks=REGULAR_WEEKS + 1))
        return Week(monday, tuple(slots), demand, minutes, shares)

    def proposal(self, visits: list[Visit], scale: float = 1.0) -> Proposal:
        week = self.week_of_demand(visits, scale)
        solved = propose(week, self.rules, seconds=self.seconds)
        rule = greedy(week, self.rules)
        served = solved.plan.served_visits(week.minutes)
        baseline = rule.served_visits(week.minutes)
        asked = sum(m / week.minutes[s] for (s, _), m in week.demand.items() if week.minutes.get(s))
        return Proposal(
            week=week.monday,
            shifts=tuple(ShiftView(h.practitioner, h.start, h.service) for h in solved.plan.shifts),
            demand_visits=round(asked, 2),
            served_visits=round(served, 2),
            greedy_served_visits=round(baseline, 2),
            uplift=round(served / baseline - 1, 4) if baseline else 0.0,
            continuity=round(solved.plan.continuity(week.regulars), 3),
            greedy_continuity=round(rule.continuity(week.regulars), 3),
            status=solved.status,
            seconds=round(solved.seconds, 3),
        )
