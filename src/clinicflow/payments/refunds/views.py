"""What the refund use cases answer: plain data, turned into JSON by schemas.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.payments.domain.refunds import Refund


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
        return cls(
            r.id,
            r.booking_id,
            r.amount_cents,
            r.fee_cents,
            r.rule,
            r.reason,
            r.status,
            r.provider,
            r.provider_refund_id,
            r.credit_returned,
            r.created_at,
        )
