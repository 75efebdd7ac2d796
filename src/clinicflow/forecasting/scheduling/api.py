"""`GET /v1/forecasts/schedule-proposal`: next week's proposed hours per practitioner and
service, beside the greedy rule's (admins; shown, never applied)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from clinicflow.forecasting.demand.errors import NotEnoughHistory
from clinicflow.forecasting.scheduling.schemas import ProposalOut
from clinicflow.forecasting.scheduling.service import ScheduleProposals
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.shared.records import from_attributes

router = APIRouter(prefix="/v1/forecasts", tags=["forecasting"])
ProposalsDep = Annotated[ScheduleProposals, Depends(provided(ScheduleProposals))]


@router.get(
    "/schedule-proposal",
    **documented(
        "getScheduleProposal",
        "Propose next week's hours per practitioner and service from the forecast (admins; "
        "never applied)",
        *SIGNED_IN,
        NotEnoughHistory,
    ),
)
async def schedule_proposal(
    proposals: ProposalsDep,
    actor: CurrentActor,
    scale: Annotated[float, Query(gt=0, le=5)] = 1.0,
) -> ProposalOut:
    """`scale` multiplies the forecast demand (what if next week is busier). The answer
    names the solver's status and time, and the greedy rule's expected visits served on the
    same demand. docs/ml-planning.md "Schedule proposals"."""
    return from_attributes(ProposalOut, await proposals.next_week(actor, scale))
