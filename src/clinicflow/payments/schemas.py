"""HTTP request and response shapes for payments. Field names are the public contract."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from clinicflow.infra.request_input import RequestModel
from clinicflow.payments.checkout import CheckoutRequest
from clinicflow.payments.domain import Line, PackageLine, VisitLine
from clinicflow.payments.reads import LineCodes
from clinicflow.payments.refund_steps import RefundRequest
from clinicflow.payments.views import Checkout, LineView, OrderView, RefundView, RevenueRow

Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Method = Literal["stripe", "paypal", "in_clinic"]
Tender = Literal["cash", "card_terminal"]


class _In(RequestModel):
    model_config = ConfigDict(extra="forbid")


class VisitIn(_In):
    service: Key
    visit_type: Key
    starts_at: AwareDatetime | None = None


class QuoteIn(_In):
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


class CheckoutIn(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"booking_ids": ["01JD0000000000000000000000"], "method": "stripe"},
                {"package": "gaps_starter", "method": "in_clinic", "tender": "card_terminal"},
            ]
        }
    )

    booking_ids: list[Id] = Field(default_factory=list, max_length=20)
    package: Key | None = None
    method: Method
    promo_code: Code | None = None
    patient_id: Id | None = None
    tender: Tender | None = None
    fallback: bool = False
    use_credits: bool = True

    def request(self) -> CheckoutRequest:
        return CheckoutRequest(
            tuple(self.booking_ids),
            self.package,
            self.method,
            self.promo_code,
            self.patient_id,
            self.tender,
            self.fallback,
            self.use_credits,
        )


class MethodIn(_In):
    method: Method
    tender: Tender | None = None
    fallback: bool = False


class RefundIn(_In):
    booking_id: Id | None = None
    amount_cents: int | None = Field(default=None, ge=0)  # staff override of the policy
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    return_credit: bool | None = None

    def request(self) -> RefundRequest:
        return RefundRequest(self.booking_id, self.amount_cents, self.reason, self.return_credit)


class LineCodesIn(_In):
    booking_id: Id
    cpt: list[Code] = Field(default_factory=list, max_length=12)
    icd10: list[Code] = Field(default_factory=list, max_length=12)


class CodesIn(_In):
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


class CheckoutOut(PaymentOut):
    # Stripe: for Stripe.js in the buyer's browser; never stored or logged here.
    client_secret: str | None = None
    approve_url: str | None = None  # PayPal: send the buyer here to approve
    fallback_from: str | None = None  # the method that was down when the other was used

    @classmethod
    def of_checkout(cls, c: Checkout) -> CheckoutOut:
        base = PaymentOut.of(c.order).model_dump()
        return cls(
            **base,
            client_secret=c.client_secret,
            approve_url=c.approve_url,
            fallback_from=c.fallback_from,
        )


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


class WebhookOut(BaseModel):
    outcome: str
