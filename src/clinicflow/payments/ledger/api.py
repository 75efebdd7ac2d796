"""The revenue route: sums from the append-only ledger, per local day and service."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from clinicflow.catalog.api import CatalogDep
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.request_input import Day
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.payments.ledger.schemas import RevenueOut, RevenueRowOut
from clinicflow.payments.ledger.service import RevenueReader

router = APIRouter(prefix="/v1", tags=["payments"])
RevenueDep = Annotated[RevenueReader, Depends(provided(RevenueReader))]


@router.get(
    "/payments/revenue",
    **documented("getRevenue", "Revenue per day and service over a range of days", *SIGNED_IN),
)
async def revenue(
    reader: RevenueDep,
    catalog: CatalogDep,
    actor: CurrentActor,
    from_: Annotated[Day, Query(alias="from")],
    to: Day,
) -> RevenueOut:
    tz = catalog.clinic.tz
    lo = datetime.combine(from_, time(), tz)
    hi = datetime.combine(to + timedelta(days=1), time(), tz)
    rows = await reader.revenue(actor, lo, hi)
    net = sum(r.net_cents for r in rows)
    out = [RevenueRowOut.of(r) for r in rows]
    return RevenueOut(timezone=str(tz), from_=from_, to=to, rows=out, net_cents=net)
