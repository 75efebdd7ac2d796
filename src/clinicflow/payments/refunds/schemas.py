"""HTTP request and response shapes for refunds. Field names are the public contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from clinicflow.payments.refunds.commands import RefundRequest
from clinicflow.payments.refunds.views import RefundView
from clinicflow.payments.schemas import Id, PaymentsIn


class RefundIn(PaymentsIn):
    booking_id: Id | None = None
    amount_cents: int | None = Field(default=None, ge=0)  # staff override of the policy
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    return_credit: bool | None = None

    def request(self) -> RefundRequest:
        return RefundRequest(self.booking_id, self.amount_cents, self.reason, self.return_credit)


class RefundOut(BaseModel):
    id: str
    booking_id: str | None
    amount_cents: int
    fee_cents: int
    rule: str
    reason: str
    status: str
    provider: str
    provider_refund_id: str | None
    credit_returned: bool
    created_at: datetime

    @classmethod
    def of(cls, v: RefundView) -> RefundOut:
        return cls(**{k: getattr(v, k) for k in cls.model_fields})
