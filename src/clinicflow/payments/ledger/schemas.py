"""HTTP response shapes for revenue. Field names are the public contract."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from clinicflow.payments.ledger.views import RevenueRow


class RevenueRowOut(BaseModel):
    day: date
    service: str
    charged_cents: int
    refunded_cents: int
    adjusted_cents: int
    net_cents: int

    @classmethod
    def of(cls, r: RevenueRow) -> RevenueRowOut:
        return cls(
            day=date.fromisoformat(r.day),
            service=r.service,
            charged_cents=r.charged_cents,
            refunded_cents=r.refunded_cents,
            adjusted_cents=r.adjusted_cents,
            net_cents=r.net_cents,
        )


class RevenueOut(BaseModel):
    timezone: str
    from_: date = Field(serialization_alias="from")
    to: date
    rows: list[RevenueRowOut]
    net_cents: int
