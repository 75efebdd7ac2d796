"""What the payments use cases answer: plain data, turned into JSON by schemas.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class LineView:
    booking_id: str
    line_index: int
    service: str
    visit_type: str
    practitioner: str
    starts_at: datetime
    net_cents: int
    credit_id: str | None
    state: str
    confirmed_booking_id: str | None
    refunded_cents: int
    cpt_codes: tuple[str, ...]
    icd10_codes: tuple[str, ...]

    @classmethod
    def of(cls, row: Any) -> LineView:
        return cls(
            row.booking_id,
            row.line_index,
            row.service,
            row.visit_type,
            row.practitioner,
            row.starts_at,
            row.net_cents,
            row.credit_id,
            row.state,
            row.confirmed_booking_id,
            row.refunded_cents,
            tuple(row.cpt_codes or ()),
            tuple(row.icd10_codes or ()),
        )


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
    def of(cls, row: Any) -> RefundView:
        return cls(
            row.id,
            row.booking_id,
            row.amount_cents,
            row.fee_cents,
            row.rule,
            row.reason,
            row.status,
            row.provider,
            row.provider_refund_id,
            row.credit_returned,
            row.created_at,
        )


@dataclass(frozen=True, slots=True)
class OrderView:
    id: str
    patient_id: str
    status: str
    method: str
    tender: str | None
    provider: str | None
    provider_id: str | None
    currency: str
    quote: dict[str, Any]
    subtotal_cents: int
    discount_cents: int
    total_cents: int
    refunded_cents: int
    promo_code: str | None
    failure_code: str | None
    created_at: datetime
    paid_at: datetime | None
    bookings: tuple[LineView, ...] = ()
    refunds: tuple[RefundView, ...] = ()

    @classmethod
    def of(cls, row: Any, lines: list[Any], refunds: list[Any]) -> OrderView:
        return cls(
            row.id,
            row.patient_id,
            row.status,
            row.method,
            row.tender,
            row.provider,
            row.provider_id,
            row.currency,
            dict(row.quote),
            row.subtotal_cents,
            row.discount_cents,
            row.total_cents,
            row.refunded_cents,
            row.promo_code,
            row.failure_code,
            row.created_at,
            row.paid_at,
            tuple(LineView.of(x) for x in lines),
            tuple(RefundView.of(x) for x in refunds),
        )


@dataclass(frozen=True, slots=True)
class Checkout:
    """A checkout's answer. The client secret goes to the buyer's browser only: never
    stored, never logged (repr=False)."""

    order: OrderView
    client_secret: str | None = field(default=None, repr=False)
    approve_url: str | None = None
    fallback_from: str | None = None  # the method that was down when PayPal was used instead


@dataclass(frozen=True, slots=True)
class RevenueRow:
    day: str  # the clinic's local date, ISO
    service: str
    charged_cents: int
    refunded_cents: int  # positive
    adjusted_cents: int

    @property
    def net_cents(self) -> int:
        return self.charged_cents - self.refunded_cents + self.adjusted_cents
