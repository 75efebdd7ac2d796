"""HTTP request and response shapes for refunds. Field names are the public contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, StringConstraints

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


@dataclass(frozen=True, slots=True)
class RefundOut(RefundView):
    pass  # the view itself, under its name in the API
