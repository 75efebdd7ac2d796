"""The models' answers for staff, from the cached predictions (`clinicflow ml predict`, the
nightly retrain): upcoming visits' no-show risk with the reasons, the patients worth a call
(churn risk), and, for analysts too, aggregates only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from clinicflow.forecasting.schemas import ChurnRiskOut, NoShowRiskOut, RiskSummaryOut
from clinicflow.forecasting.service import RiskReports
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.shared.records import from_attributes

router = APIRouter(prefix="/v1/forecasts", tags=["forecasts"])
ReportsDep = Annotated[RiskReports, Depends(provided(RiskReports))]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get(
    "/no-show",
    **documented(
        "listNoShowRisks",
        "Upcoming visits by no-show risk, with the top reasons (admins, front desk, practitioners)",
        *SIGNED_IN,
    ),
)
async def no_show_risks(
    reports: ReportsDep, actor: CurrentActor, limit: Limit = 200
) -> list[NoShowRiskOut]:
    return [from_attributes(NoShowRiskOut, r) for r in await reports.no_show(actor, limit)]


@router.get(
    "/churn",
    **documented(
        "listChurnRisks",
        "Patients in care by risk of not coming back within 60 days, with the top reasons "
        "(admins, front desk, practitioners)",
        *SIGNED_IN,
    ),
)
async def churn_risks(
    reports: ReportsDep, actor: CurrentActor, limit: Limit = 100
) -> list[ChurnRiskOut]:
    return [from_attributes(ChurnRiskOut, r) for r in await reports.churn(actor, limit)]


@router.get(
    "/summary",
    **documented(
        "getRiskSummary",
        "No-show and churn risk per service, as counts and means (staff and analysts)",
        *SIGNED_IN,
    ),
)
async def risk_summary(reports: ReportsDep, actor: CurrentActor) -> list[RiskSummaryOut]:
    return [from_attributes(RiskSummaryOut, r) for r in await reports.summary(actor)]
