"""The metrics' route: `GET /v1/analytics/{metric}`, a table as JSON, or as CSV when the
caller accepts `text/csv` or asks `format=csv` (a link in a browser, which cannot set Accept:
the owner dashboard's downloads)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from clinicflow.analytics.errors import InvalidQuestion, UnknownMetric
from clinicflow.analytics.schemas import ReportOut, report_csv
from clinicflow.analytics.service import AnalyticsReports
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.request_input import Day
from clinicflow.infra.web import CurrentActor, provided

router = APIRouter(prefix="/v1", tags=["analytics"])
ReportsDep = Annotated[AnalyticsReports, Depends(provided(AnalyticsReports))]
Name = Annotated[str, Query(max_length=64, pattern=r"^[a-z0-9_-]+$")]


@router.get(
    "/analytics/{metric}",
    **documented(
        "getMetric",
        "A metric over the analytics lake, as a table (analysts and admins; never a patient)",
        *SIGNED_IN,
        UnknownMetric,
        InvalidQuestion,
        response_model=ReportOut,
        responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
    ),
)
async def metric(
    reports: ReportsDep,
    actor: CurrentActor,
    request: Request,
    metric: str,
    from_: Annotated[Day, Query(alias="from")],
    to: Day,
    group_by: Annotated[str | None, Query(max_length=200)] = None,
    view: Name | None = None,
    days: Annotated[str | None, Query(max_length=8)] = None,
    as_: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None,
) -> Response:
    """`group_by`: comma-separated dimensions (empty: one total row; left out: the metric's
    default); `view`: the metric's other table (retention: `rebook`); `days`: churn's window
    for every service; `format=csv`: the CSV, as `Accept: text/csv` gives it (for a link).
    docs/analytics.md "Metrics" lists each metric's columns."""
    dims = None if group_by is None else [d for d in group_by.split(",") if d.strip()]
    params = {k: v for k, v in (("view", view), ("days", days)) if v is not None}
    report = await reports.run(actor, metric[:64], from_, to, dims, params)
    if as_ == "csv" or (as_ is None and "text/csv" in request.headers.get("accept", "")):
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{report.metric}.csv"',
                "Cache-Control": "no-store",
            },
        )
    body = ReportOut.of(report).model_dump_json(by_alias=True)
    return Response(body, media_type="application/json")
