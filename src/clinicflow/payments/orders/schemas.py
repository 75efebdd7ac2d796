"""HTTP request and response shapes for an order once placed. Field names are the public
contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from clinicflow.payments.orders.commands import LineCodes
from clinicflow.payments.orders.views import LineView, OrderView
from clinicflow.payments.refunds.schemas import RefundOut
from clinicflow.payments.schemas import Code, Id, Method, PaymentsIn, Tender


class MethodIn(PaymentsIn):
    method: Method
    tender: Tender | None = None
    fallback: bool = False


class LineCodesIn(PaymentsIn):
    booking_id: Id
    cpt: list[Code] = Field(default_factory=list, max_length=12)
    icd10: list[Code] = Field(default_factory=list, max_length=12)


class CodesIn(PaymentsIn):
    lines: list[LineCodesIn] = Field(min_length=1, max_length=20)

    def codes(self) -> list[LineCodes]:
        return [LineCodes(x.booking_id, tuple(x.cpt), tuple(x.icd10)) for x in self.lines]


class LineOut(BaseModel):
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
    cpt_codes: list[str]
    icd10_codes: list[str]

    @classmethod
    def of(cls, v: LineView) -> LineOut:
        return cls(
            **{k: getattr(v, k) for k in cls.model_fields if k not in ("cpt_codes", "icd10_codes")},
            cpt_codes=list(v.cpt_codes),
            icd10_codes=list(v.icd10_codes),
        )


class PaymentOut(BaseModel):
    id: str
    patient_id: str
    status: str
    method: str
    tender: str | None
    provider: str | None
    provider_id: str | None
    currency: str
    subtotal_cents: int
    discount_cents: int
    total_cents: int
    refunded_cents: int
    promo_code: str | None
    failure_code: str | None
    created_at: datetime
    paid_at: datetime | None
    quote: dict[str, Any]
    bookings: list[LineOut]
    refunds: list[RefundOut]

    @classmethod
    def of(cls, v: OrderView) -> PaymentOut:
        plain = {k: getattr(v, k) for k in cls.model_fields if k not in ("bookings", "refunds")}
        return cls(
            **plain,
            bookings=[LineOut.of(x) for x in v.bookings],
            refunds=[RefundOut.of(x) for x in v.refunds],
        )
