"""HTTP request and response shapes for quotes. Field names are the public contract."""

from __future__ import annotations

from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from clinicflow.payments.domain import Line, PackageLine, VisitLine
from clinicflow.payments.schemas import Code, Id, Key, PaymentsIn


class VisitIn(PaymentsIn):
    service: Key
    visit_type: Key
    starts_at: AwareDatetime | None = None


class QuoteIn(PaymentsIn):
    visits: list[VisitIn] = Field(default_factory=list, max_length=20)
    packages: list[Key] = Field(default_factory=list, max_length=5)
    promo_code: Code | None = None
    patient_id: Id | None = None  # staff pricing for a patient (credits, code uses)
    use_credits: bool = True

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.visits and not self.packages:
            raise ValueError("give visits, packages or both")
        return self

    def lines(self) -> list[Line]:
        out: list[Line] = [PackageLine(p) for p in self.packages]
        out += [
            VisitLine(v.service, v.visit_type, None, v.starts_at, self.use_credits)
            for v in self.visits
        ]
        return out


class QuoteOut(BaseModel):
    currency: str
    priceable: bool
    lines: list[dict[str, Any]]
    discounts: list[dict[str, Any]]
    notes: list[str]
    unpriceable: list[dict[str, Any]]
    promotion_code: str | None
    subtotal_cents: int | None
    discount_cents: int
    total_cents: int | None
