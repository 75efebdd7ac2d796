"""HTTP response shapes for revenue. Field names are the public contract."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from clinicflow.infra.response_model import ResponseModel
from clinicflow.payments.ledger.views import RevenueRow


class RevenueRowOut(ResponseModel[RevenueRow]):
    day: date
    service: str
    charged_cents: int
    refunded_cents: int
    adjusted_cents: int
    net_cents: int


class RevenueOut(BaseModel):
    timezone: str
    from_: date = Field(serialization_alias="from")
    to: date
    rows: list[RevenueRowOut]
    net_cents: int
