"""The proposal: OR-Tools CP-SAT over the week. One integer per (practitioner, day,
service): the hours that practitioner works that day for that service, within the hour
slots they could work that day and the clinic's day and week caps. Maximise the expected
visits served (each service's served minutes over its mean visit length, scaled to
integers) + `continuity_weight` × the practitioner's share of the service's regulars per
hour (a tie-breaker, worth less than one served minute), less a small cost per hour (nobody
is proposed for an hour that serves nobody). The hours are then laid on each day's earliest
slots. Two workers, a time limit."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from clinicflow.forecasting.scheduling.domain.week import (
    SLOT_MIN,
    Plan,
    Rules,
    Shift,
    Slot,
    Week,
    served,
)

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

VISIT_WEIGHT = 6000  # per visit served: a served minute of a 60-minute visit is worth 100


@dataclass(frozen=True, slots=True)
class Solved:
    plan: Plan
    status: str  # OPTIMAL, FEASIBLE (or why there is no plan)
    seconds: float


def propose(
    week: Week, rules: Rules, *, seconds: float = 10.0, workers: int = 2, seed: int = 0
) -> Solved:
    from ortools.sat.python import cp_model  # heavy: imported when first used

    model = cp_model.CpModel()
    days: dict[tuple[str, date], list[Slot]] = {}
    for slot in week.slots:
        days.setdefault((slot.practitioner, slot.day), []).append(slot)
    hours: dict[tuple[str, date, str], cp_model.IntVar] = {}
    by_week: dict[str, list[cp_model.IntVar]] = {}
    by_demand: dict[tuple[str, date], list[cp_model.IntVar]] = {}
    for (p, day), slots in days.items():
        here = []
        for s in slots[0].services:
            if week.demand.get((s, day), 0) <= 0:
                continue
            var = model.new_int_var(0, min(len(slots), rules.max_day_hours), f"h_{p}_{day}_{s}")
            hours[(p, day, s)] = var
            here.append(var)
            by_demand.setdefault((s, day), []).append(var)
            by_week.setdefault(p, []).append(var)
        if here:
            model.add(sum(here) <= min(len(slots), rules.max_day_hours))
    for vars_ in by_week.values():
        model.add(sum(vars_) <= rules.max_week_hours)
    objective = []
    for (s, day), demand in week.demand.items():
        if demand <= 0 or (s, day) not in by_demand:
            continue
        got = model.new_int_var(0, demand, f"served_{s}_{day}")
        model.add(got <= SLOT_MIN * sum(by_demand[(s, day)]))
        objective.append(round(VISIT_WEIGHT / max(week.minutes.get(s, SLOT_MIN), 1.0)) * got)
    for (p, _, s), var in hours.items():
        bonus = round(rules.continuity_weight * week.regulars.get((p, s), 0.0))
        objective.append((bonus - rules.continuity_weight - 1) * var)
    model.maximize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    started = time.perf_counter()
    status = solver.solve(model)
    took = time.perf_counter() - started
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solved(Plan((), served(week, [])), solver.status_name(status), took)
    shifts: list[Shift] = []
    for (p, day), slots in days.items():
        queue = iter(sorted(slots, key=lambda x: x.start))
        for s in slots[0].services:
            worked = hours.get((p, day, s))
            for _ in range(solver.value(worked) if worked is not None else 0):
                shifts.append(Shift(p, next(queue).start, s))
    shifts.sort(key=lambda h: (h.practitioner, h.start))
    return Solved(Plan(tuple(shifts), served(week, shifts)), solver.status_name(status), took)
