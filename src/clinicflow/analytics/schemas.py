"""The metrics' answer on the API: a typed table (JSON), or the same table as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from clinicflow.analytics.views import Report
from clinicflow.infra.response_model import from_view


class ColumnOut(BaseModel):
    name: str
    type: str = Field(description="text, int, rate (a share 0..1), number or date")


class ReportOut(BaseModel):
    metric: str
    view: str
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    group_by: list[str]
    columns: list[ColumnOut]
    rows: list[list[Any]]
    suppressed: int = Field(description="rows whose figures were withheld as too small")

    model_config = {"populate_by_name": True}

    @classmethod
    def of(cls, r: Report) -> ReportOut:
        return from_view(cls, r, from_=r.start, to=r.end)


def report_csv(r: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in r.columns])
    for row in r.rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
