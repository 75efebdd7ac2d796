"""`GET /v1/forecasts/demand`: visits a day and a week for the next weeks, with 80%
intervals, beside capacity (analysts and admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from clinicflow.forecasting.demand.errors import BadHorizon, NotEnoughHistory
from clinicflow.forecasting.demand.schemas import DemandForecastOut
from clinicflow.forecasting.demand.service import DemandForecasts
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.shared.records import from_attributes

router = APIRouter(prefix="/v1/forecasts", tags=["forecasting"])
DemandDep = Annotated[DemandForecasts, Depends(provided(DemandForecasts))]


@router.get(
    "/demand",
    **documented(
        "getDemandForecast",
        "Forecast visits per service or practitioner for the coming weeks, beside capacity "
        "(analysts and admins)",
        *SIGNED_IN,
        NotEnoughHistory,
        BadHorizon,
    ),
)
async def demand(
    forecasts: DemandDep,
    actor: CurrentActor,
    by: Literal["service", "practitioner"] = "service",
    weeks: Annotated[int, Query(ge=1, le=13)] = 8,
) -> DemandForecastOut:
    """Days and weeks from next Monday, each with its 80% interval; by service, each week's
    forecast minutes beside the catalog's offered minutes, `over_capacity` where they pass
    them. docs/ml-planning.md "Demand forecast"."""
    return from_attributes(DemandForecastOut, await forecasts.forecast(actor, by, weeks))
