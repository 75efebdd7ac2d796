"""The planning models (demand, waitlist conversion, schedule proposal) as `clinicflow ml`
sees them: held-out figures, what the registry keeps of each, and predictions made again
from an entry. Pure: the lake's rows come in (`PlanningData`), the clinic's practitioners,
time zone and waitlist policy with them (`PlanningSetup`); the evaluations are the planning
sub-packages' own (`demand/domain/forecast.py`, `waitlist/domain/model.py`,
`scheduling/domain/proposal.py`), the same the routes answer with.

The last day known is the day before the lake's last event (in the clinic's zone), as the
routes take yesterday: so `ml evaluate` on a lake ending yesterday gives the route's figures.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicflow.catalog import Practitioner
from clinicflow.forecasting.demand.domain.forecast import MODEL, backtest_of, forecast_of
from clinicflow.forecasting.demand.domain.model import Engine
from clinicflow.forecasting.demand.domain.series import SEASON, Visit
from clinicflow.forecasting.demand.errors import NotEnoughHistory
from clinicflow.forecasting.domain.artifact import Fitted
from clinicflow.forecasting.scheduling.domain.proposal import Solver, proposal, week_of_demand
from clinicflow.forecasting.waitlist.domain.conversion import FEATURES, Invitation, ranked
from clinicflow.forecasting.waitlist.domain.model import Model, NotEnough, decided, evaluate, train
from clinicflow.waitlist import WaitlistPolicy

DEMAND, WAITLIST, SCHEDULE = "demand", "waitlist", "schedule"
PLANNING = (DEMAND, WAITLIST, SCHEDULE)
FORECAST_WEEKS = 8  # what `ml predict` caches of the demand forecast
DEMAND_FEATURES = ("service", "start", "created_at", "cancelled_at", "end")
SCHEDULE_FEATURES = (
    "forecast demand per service and day",
    "mean visit length per service",
    "practitioners' possible hours",
    "practitioners' share of each service's visits (9 weeks)",
)
Step = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class PlanningData:
    """What the planning models read from the lake (`demand/queries.py` `LakeHistory`)."""

    visits: tuple[Visit, ...]
    invitations: tuple[Invitation, ...]
    waiting: tuple[Invitation, ...]  # never invited, as if invited at the lake's last event
    last: datetime | None  # the lake's last event

    def digest(self, kind: str) -> str:
        """A SHA-256 over the rows the kind reads (sorted: rows tied in the lake's order hash
        the same however they come)."""
        h = hashlib.sha256()
        rows: Sequence[object] = (
            (*self.invitations, *self.waiting) if kind == WAITLIST else self.visits
        )
        for row in sorted(repr(r) for r in rows):
            h.update(row.encode())
        return h.hexdigest()


@dataclass(frozen=True)
class PlanningSetup:
    practitioners: tuple[Practitioner, ...]
    tz: ZoneInfo
    policy: WaitlistPolicy = field(default_factory=WaitlistPolicy)
    solver: Solver = field(default_factory=Solver)


@dataclass(frozen=True, slots=True)
class Scored:
    """One prediction of a planning model, as the cache keeps it: a day's forecast visits
    (demand), a waiting entry's conversion chance by rank (waitlist), a proposed hour
    (schedule)."""

    subject: str
    service: str
    at: datetime | None
    score: float
    reasons: tuple[tuple[str, str, float], ...]


def known_day(data: PlanningData, tz: ZoneInfo) -> date:
    if data.last is None:
        raise NotEnoughHistory("the lake holds no events yet")
    return data.last.astimezone(tz).date() - timedelta(days=1)


def _number(x: float) -> float | None:
    """JSON has no NaN: a figure that could not be computed is null."""
    return None if math.isnan(x) else x


def _span(lo: date | datetime, hi: date | datetime) -> dict[str, object]:
    return {"start": lo.isoformat(), "end": hi.isoformat()}


def evaluate_demand(data: PlanningData, setup: PlanningSetup) -> dict[str, object]:
    engine = setup.solver.engine
    last = known_day(data, setup.tz)
    bt = backtest_of(list(data.visits), setup.tz, last, "service", engine)
    first = min(v.start for v in data.visits).astimezone(setup.tz).date()
    return {
        "mase": bt.mase,
        "baseline_mase": bt.naive_mase,
        "baseline": "seasonal-naive (same weekday last week)",
        "ets_mase": _number(bt.ets_mase),
        "windows": bt.windows,
        "horizon_days": SEASON,
        "series": bt.series,
        "model": MODEL,
        "train_window": _span(first, bt.first_cutoff),
        "window": _span(bt.first_cutoff + timedelta(days=1), bt.last_cutoff + timedelta(SEASON)),
    }


def evaluate_waitlist(data: PlanningData, setup: PlanningSetup) -> dict[str, object]:
    if data.last is None or not data.invitations:
        raise NotEnough("no waitlist invitations in the lake yet")
    ev = evaluate(data.invitations, data.last, setup.policy)
    return {
        "auc": round(ev.auc, 4),
        "baseline_auc": round(ev.baseline_auc, 4),
        "baseline": "the published priority score alone",
        "conversion_rate": round(ev.conversion_rate, 4),
        "rows": ev.tested,
        "train_rows": ev.trained,
        "train_window": _span(ev.train_from, ev.train_to),
        "window": _span(ev.test_from, ev.test_to),
    }


def evaluate_schedule(data: PlanningData, setup: PlanningSetup) -> dict[str, object]:
    solver = setup.solver
    last = known_day(data, setup.tz)
    week = week_of_demand(
        list(data.visits), setup.practitioners, setup.tz, last, 1.0, solver.engine
    )
    p = proposal(week, solver)
    return {
        "uplift": p.uplift,
        "seconds": p.seconds,
        "status": p.status,
        "baseline": "the greedy rule",
        "served_visits": p.served_visits,
        "greedy_served_visits": p.greedy_served_visits,
        "demand_visits": p.demand_visits,
        "continuity": p.continuity,
        "greedy_continuity": p.greedy_continuity,
        "hours": len(p.shifts),
        "window": _span(week.monday, week.monday + timedelta(days=6)),
    }


EVALUATIONS = {DEMAND: evaluate_demand, WAITLIST: evaluate_waitlist, SCHEDULE: evaluate_schedule}


def evaluate_planning(
    data: PlanningData, setup: PlanningSetup, step: Step = _quiet
) -> dict[str, dict[str, object]]:
    """Each planning model's held-out figures, or `{"skipped": why}` when the lake cannot
    judge it yet (too little history, no invitations)."""
    out: dict[str, dict[str, object]] = {}
    for kind, judge in EVALUATIONS.items():
        step(f"{kind} evaluation")
        try:
            out[kind] = judge(data, setup)
        except (NotEnoughHistory, NotEnough) as exc:
            out[kind] = {"skipped": str(exc)}
    return out


def fit_planning(
    data: PlanningData, setup: PlanningSetup, scores: Mapping[str, dict[str, object]]
) -> list[Fitted]:
    """What the registry keeps of each planning model its evaluation did not skip: the
    demand engine's settings, the fitted conversion model (trained on every decided
    invitation), the solver's parameters."""
    out: list[Fitted] = []
    if data.last is None:
        return out
    last = data.last
    first = min((v.start for v in data.visits), default=last)
    if "skipped" not in scores.get(DEMAND, {"skipped": ""}):
        parts: dict[str, object] = {"engine": setup.solver.engine.parts(), "model": MODEL}
        out.append(
            Fitted(DEMAND, parts, DEMAND_FEATURES, scores[DEMAND], first, last, data.digest(DEMAND))
        )
    if "skipped" not in scores.get(WAITLIST, {"skipped": ""}):
        model = train(decided(data.invitations, last))
        out.append(
            Fitted(
                WAITLIST,
                model.parts(),
                FEATURES,
                scores[WAITLIST],
                model.window[0],
                model.window[1],
                data.digest(WAITLIST),
            )
        )
    if "skipped" not in scores.get(SCHEDULE, {"skipped": ""}):
        out.append(
            Fitted(
                SCHEDULE,
                setup.solver.parts(),
                SCHEDULE_FEATURES,
                scores[SCHEDULE],
                first,
                last,
                data.digest(SCHEDULE),
            )
        )
    return out


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def predict_planning(
    kind: str, parts: Mapping[str, object], data: PlanningData, setup: PlanningSetup
) -> list[Scored]:
    """The kind's predictions from its registry entry's parts on `data`: the same parts
    and the same rows give the same predictions.

    - demand: each day of the next `FORECAST_WEEKS` weeks per service, its forecast visits,
      with what is already booked and the interval's ends as reasons;
    - waitlist: each never-invited entry, by its rank in the published priority order within
      its service, with its conversion chance and the features that raise it;
    - schedule: each proposed hour (practitioner/start) for its service, scored by the
      practitioner's share of that service's regular patients."""
    last = known_day(data, setup.tz)
    if kind == DEMAND:
        engine_parts = parts.get("engine")
        if not isinstance(engine_parts, dict):
            raise ValueError("a demand entry holds its engine's settings")
        engine = Engine.of(engine_parts)
        found = forecast_of(
            list(data.visits),
            setup.practitioners,
            setup.tz,
            last,
            "service",
            FORECAST_WEEKS,
            engine,
        )
        level = engine.level
        return [
            Scored(
                d.day.isoformat(),
                d.key,
                _midnight(d.day, setup.tz),
                round(d.visits, 4),
                (
                    ("booked", str(d.booked), float(d.booked)),
                    (f"lo{level}", "", round(d.visits_lo, 4)),
                    (f"hi{level}", "", round(d.visits_hi, 4)),
                ),
            )
            for d in found.days
        ]
    if kind == WAITLIST:
        model = Model.of(parts)
        out: list[Scored] = []
        for service in sorted({w.service for w in data.waiting}):
            mine = [w for w in data.waiting if w.service == service]
            order = ranked(mine, setup.policy)
            why = model.reasons(order)
            for n, (chance, reasons) in enumerate(zip(model.chances(order), why, strict=True)):
                out.append(
                    Scored(
                        str(n + 1),
                        service,
                        None,
                        round(chance, 4),
                        tuple((f, "", w) for f, w in reasons),
                    )
                )
        return out
    if kind == SCHEDULE:
        solver = Solver.of(parts)
        visits = list(data.visits)
        week = week_of_demand(visits, setup.practitioners, setup.tz, last, 1.0, solver.engine)
        p = proposal(week, solver)
        return [
            Scored(
                f"{h.practitioner}/{h.start.isoformat(timespec='minutes')}",
                h.service,
                h.start,
                round(week.regulars.get((h.practitioner, h.service), 0.0), 4),
                (("uplift_over_greedy", p.status, p.uplift),),
            )
            for h in p.shifts
        ]
    raise ValueError(f"not a planning model: {kind}")
