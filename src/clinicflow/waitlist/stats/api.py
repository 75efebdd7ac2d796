"""The statistics' route."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.errors import InvalidEntry
from clinicflow.waitlist.stats.schemas import StatsOut

router = APIRouter(prefix="/v1/waitlist", tags=["waitlist"])


@router.get(
    "/stats",
    **documented(
        "getWaitlistStats",
        "Waitlist sizes, sources and conversions, week by week",
        *SIGNED_IN,
        InvalidEntry,
    ),
)
async def stats(
    waitlist: WaitlistDep,
    actor: CurrentActor,
    service: Annotated[str | None, Query(max_length=64)] = None,
    weeks: Annotated[int, Query(gt=0, le=104)] = 12,
) -> StatsOut:
    return StatsOut.of(await waitlist.stats.stats(actor, service, weeks))
