"""What the refund use cases answer: plain data, turned into JSON by schemas.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.payments.domain.refunds import Refund
from clinicflow.shared.records import from_attributes


@dataclass(frozen=True, slots=True)
class RefundView:
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
    def of(cls, r: Refund) -> RefundView:
        return from_attributes(cls, r)
