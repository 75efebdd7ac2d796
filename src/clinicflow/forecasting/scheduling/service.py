"""The schedule proposal use case: next week's forecast demand per service and day, the
practitioners' possible hours, the clinic's rules, solved with CP-SAT and compared with the
greedy rule on the same demand (`domain/proposal.py`). A proposal is an answer, never a
change to anyone's hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from clinicflow.catalog import Catalog
from clinicflow.forecasting.demand.domain.series import Visit
from clinicflow.forecasting.demand.guard import PlanningGuard
from clinicflow.forecasting.demand.service import DemandForecasts
from clinicflow.forecasting.scheduling.domain.proposal import (
    Proposal,
    Solver,
    proposal,
    week_of_demand,
)
from clinicflow.forecasting.scheduling.domain.week import Rules, Week
from clinicflow.shared.actor import Actor


@dataclass(kw_only=True, eq=False)
class ScheduleProposals:
    demand: DemandForecasts
    catalog: Catalog
    guard: PlanningGuard
    rules: Rules = field(default_factory=Rules)
    seconds: float = 10.0

    @property
    def solver(self) -> Solver:
        """Without a registry entry: this service's rules and time limit."""
        return Solver(self.rules, self.seconds, engine=self.demand.engine)

    async def next_week(self, actor: Actor, scale: float = 1.0) -> Proposal:
        """The coming week (from next Monday). `scale` multiplies the forecast demand: what
        if next week is that much busier."""
        await self.guard.proposals(actor, "schedule")
        visits = await self.demand.visits()
        settings = self.demand.settings
        found = await settings.solver() if settings is not None else None
        return self.proposal(visits, scale, found)

    def week_of_demand(
        self, visits: list[Visit], scale: float = 1.0, solver: Solver | None = None
    ) -> Week:
        as_of = self.demand.today() - timedelta(days=1)
        practitioners = list(self.catalog.practitioners.values())
        tz = self.catalog.clinic.tz
        engine = (solver or self.solver).engine
        return week_of_demand(visits, practitioners, tz, as_of, scale, engine)

    def proposal(
        self, visits: list[Visit], scale: float = 1.0, solver: Solver | None = None
    ) -> Proposal:
        """`solver`: the registry's latest entry's parameters (default: this service's)."""
        return proposal(self.week_of_demand(visits, scale, solver), solver or self.solver)
