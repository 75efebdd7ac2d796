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


@dataclass(frozen=True, slots=True)
class RefundPreview:
    """What cancelling a paid visit now would give back by the clinic's policy, before it is
    cancelled: the same rule (and numbers) the refund made after the cancellation uses."""

    order_id: str
    booking_id: str
    currency: str
    paid_cents: int  # what the visit's order line came to
    refunded_cents: int  # refunded of it already
    refund_cents: int  # what cancelling now gives back
    fee_cents: int  # what the policy keeps
    rule: str  # in_time | late_cancellation
    reason: str  # the policy's words
    paid_with_credit: bool
    credit_returned: bool
