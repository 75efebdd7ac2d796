"""A week's proposal from the lake's visits, pure (no clock, no lake): the forecast demand
per service and day for the week after `as_of`, the practitioners' possible hours, the
clinic's rules, solved with CP-SAT beside the greedy rule on the same demand.
`ScheduleProposals` (the route) and `ModelTraining` (`clinicflow ml`) both answer through
these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicflow.catalog import Practitioner
from clinicflow.forecasting.demand.domain.forecast import forecast_of
from clinicflow.forecasting.demand.domain.model import DEFAULT, Engine
from clinicflow.forecasting.demand.domain.series import Visit, mean_minutes, week_of
from clinicflow.forecasting.scheduling.domain.solver import VISIT_WEIGHT, propose
from clinicflow.forecasting.scheduling.domain.week import Rules, Week, greedy, possible_slots

REGULAR_WEEKS = 8  # a practitioner's share of a service's visits over this many weeks


@dataclass(frozen=True, slots=True)
class ShiftView:
    practitioner: str
    start: datetime
    service: str


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed week (never applied: shown beside the greedy rule's week)."""

    week: date  # its Monday
    shifts: tuple[ShiftView, ...]
    demand_visits: float  # forecast visits that week
    served_visits: float  # expected visits served by the proposal
    greedy_served_visits: float  # by the greedy rule on the same demand
    uplift: float  # served ÷ greedy's − 1
    continuity: float  # hours weighted by the practitioner's share of regulars
    greedy_continuity: float
    status: str  # the solver's: OPTIMAL or FEASIBLE
    seconds: float  # time spent solving


@dataclass(frozen=True, slots=True)
class Solver:
    """The proposal's settings, as the registry keeps them: the clinic's rules, CP-SAT's
    time limit, workers and seed, and the demand engine the week's demand comes from."""

    rules: Rules = field(default_factory=Rules)
    seconds: float = 10.0
    workers: int = 2
    seed: int = 0
    engine: Engine = DEFAULT

    def parts(self) -> dict[str, object]:
        return {
            "rules": asdict(self.rules),
            "seconds": self.seconds,
            "workers": self.workers,
            "seed": self.seed,
            "visit_weight": VISIT_WEIGHT,
            "engine": self.engine.parts(),
        }

    @classmethod
    def of(cls, parts: Mapping[str, object]) -> Solver:
        rules, engine = parts.get("rules"), parts.get("engine")
        seconds, workers, seed = parts.get("seconds"), parts.get("workers"), parts.get("seed")
        if not isinstance(rules, dict) or not isinstance(engine, dict):
            raise ValueError("a solver's rules and engine are objects")
        if not isinstance(seconds, int | float) or not isinstance(workers, int):
            raise ValueError("a solver's seconds and workers are numbers")
        if not isinstance(seed, int) or parts.get("visit_weight") != VISIT_WEIGHT:
            raise ValueError("a solver entry of another objective: train again")
        return cls(Rules(**rules), float(seconds), workers, seed, Engine.of(engine))


def regulars(visits: Sequence[Visit], since: date) -> dict[tuple[str, str], float]:
    """Each practitioner's share of each service's visits since `since`: who the regular
    patients are used to seeing."""
    counts: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = {}
    for v in visits:
        if v.cancelled_at is None and v.start.date() >= since:
            counts[(v.practitioner, v.service)] = counts.get((v.practitioner, v.service), 0) + 1
            totals[v.service] = totals.get(v.service, 0) + 1
    return {(p, s): n / totals[s] for (p, s), n in counts.items()}


def week_of_demand(
    visits: Sequence[Visit],
    practitioners: Sequence[Practitioner],
    tz: ZoneInfo,
    as_of: date,
    scale: float = 1.0,
    engine: Engine = DEFAULT,
) -> Week:
    """The week from the first Monday after `as_of` (the last day known), its demand the
    forecast's visits × `scale` × the service's mean visit length."""
    forecast = forecast_of(visits, practitioners, tz, as_of, "service", 2, engine)
    monday = week_of(forecast.as_of + timedelta(days=7))
    minutes = mean_minutes(visits)
    demand = {
        (d.key, d.day): round(d.visits * scale * minutes.get(d.key, 0.0))
        for d in forecast.days
        if week_of(d.day) == monday
    }
    services = {s for s, _ in demand}
    slots = possible_slots(list(practitioners), monday, tz, services)
    shares = regulars(visits, monday - timedelta(weeks=REGULAR_WEEKS + 1))
    return Week(monday, tuple(slots), demand, minutes, shares)


def proposal(week: Week, solver: Solver) -> Proposal:
    """CP-SAT's week beside the greedy rule's, on the same demand."""
    solved = propose(
        week, solver.rules, seconds=solver.seconds, workers=solver.workers, seed=solver.seed
    )
    rule = greedy(week, solver.rules)
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
