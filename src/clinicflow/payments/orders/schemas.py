"""HTTP request and response shapes for an order once placed. Field names are the public
contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from clinicflow.payments.orders.commands import LineCodes
from clinicflow.payments.orders.views import LineView, OrderView
from clinicflow.payments.refunds.schemas import RefundOut
from clinicflow.payments.schemas import Code, Id, Method, PaymentsIn, Tender
from clinicflow.shared.records import from_attributes


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


@dataclass(frozen=True, slots=True)
class LineOut(LineView):
    pass  # the view itself, under its name in the API


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
            bookings=[from_attributes(LineOut, x) for x in v.bookings],
            refunds=[from_attributes(RefundOut, x) for x in v.refunds],
        )
