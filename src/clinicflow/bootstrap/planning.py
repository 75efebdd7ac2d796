"""The planning models' wiring (forecasting's demand, waitlist and scheduling
sub-packages): the lake's files through the analytics lake adapter, the catalog, the
clinic's waitlist policy, and the model registry's latest entries (what `clinicflow ml
train` kept), so the routes answer with the entry's settings and model."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.adapters.lake.iceberg import IcebergLake
from clinicflow.bootstrap.core import Core
from clinicflow.forecasting.demand.guard import PlanningGuard
from clinicflow.forecasting.demand.service import DemandForecasts
from clinicflow.forecasting.repository import SqlForecastingUnitOfWork
from clinicflow.forecasting.scheduling.service import ScheduleProposals
from clinicflow.forecasting.service import RegistrySettings
from clinicflow.forecasting.waitlist.service import WaitlistConversion
from clinicflow.infra.unit_of_work import Factory
from clinicflow.waitlist.domain.policy import WaitlistPolicy


@dataclass(frozen=True)
class PlanningParts:
    demand: DemandForecasts
    schedule: ScheduleProposals
    waitlist: WaitlistConversion


def wire_planning(core: Core, lake: IcebergLake, policy: WaitlistPolicy) -> PlanningParts:
    guard = PlanningGuard(core.trail)
    registry = RegistrySettings(uow=Factory(core.db, SqlForecastingUnitOfWork))
    demand = DemandForecasts(
        lake=lake, catalog=core.catalog, clock=core.clock, guard=guard, settings=registry
    )
    return PlanningParts(
        demand=demand,
        schedule=ScheduleProposals(demand=demand, catalog=core.catalog, guard=guard),
        waitlist=WaitlistConversion(
            lake=lake,
            clock=core.clock,
            policy=policy,
            guard=guard,
            settings=registry,
        ),
    )
