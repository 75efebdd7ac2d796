"""A quote as JSON: the itemized breakdown stored on an order (`payments_order.quote`) and
answered by POST /v1/quotes (prices and service names, no PHI), typed for the code that
reads it back."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from clinicflow.payments.domain.pricing import PackageLine, Quote, QuoteLine, VisitLine


class QuotedLine(TypedDict):
    index: int
    kind: Literal["visit", "package"]
    description: str
    unit_cents: int | None
    credit_id: str | None
    subtotal_cents: int
    discount_cents: int
    total_cents: int
    hsa_fsa_eligible: bool
    service: str | None  # a visit's service; None for a package
    package: NotRequired[str]  # a package's key
    visit_type: NotRequired[str]
    booking_id: NotRequired[str | None]


class QuotedDiscount(TypedDict):
    kind: str
    code: str
    description: str
    base_cents: int
    amount_cents: int


class QuotedUnpriceable(TypedDict):
    line: int
    item: str
    reason: str
    text: str


class QuotedOrder(TypedDict):
    currency: str
    priceable: bool
    lines: list[QuotedLine]
    discounts: list[QuotedDiscount]
    notes: list[str]
    unpriceable: list[QuotedUnpriceable]
    promotion_code: str | None
    subtotal_cents: int | None
    discount_cents: int
    total_cents: int | None


def quote_json(q: Quote) -> QuotedOrder:
    return {
        "currency": q.currency,
        "priceable": q.priceable,
        "lines": [_line(line) for line in q.lines],
        "discounts": [
            {
                "kind": d.kind.value,
                "code": d.code,
                "description": d.description,
                "base_cents": d.base_cents,
                "amount_cents": d.amount_cents,
            }
            for d in q.discounts
        ],
        "notes": list(q.notes),
        "unpriceable": [
            {"line": u.index, "item": u.item, "reason": u.reason, "text": str(u)}
            for u in q.unpriceable
        ],
        "promotion_code": q.promotion_code,
        "subtotal_cents": q.subtotal_cents,
        "discount_cents": q.discount_cents,
        "total_cents": q.total_cents,
    }


def _line(q: QuoteLine) -> QuotedLine:
    line: QuotedLine = {
        "index": q.index,
        "description": q.description,
        "unit_cents": q.unit_cents,
        "credit_id": q.credit_id,
        "subtotal_cents": q.subtotal_cents,
        "discount_cents": q.discount_cents,
        "total_cents": q.total_cents,
        "hsa_fsa_eligible": q.hsa_fsa_eligible,
        "kind": "visit",
        "service": None,
    }
    if isinstance(q.line, PackageLine):
        line["kind"] = "package"
        line["package"] = q.line.package
        return line
    assert isinstance(q.line, VisitLine)
    line["service"] = q.line.service
    line["visit_type"] = q.line.visit_type
    line["booking_id"] = q.line.booking_id
    return line


def ledger_service(line: QuotedLine) -> str:
    """What revenue is counted under: the service, or package:<key> for a purchase."""
    if line["kind"] == "visit":
        return str(line["service"])
    return f"package:{line.get('package')}"


def visit_booking_ids(quoted: QuotedOrder) -> list[str]:
    """The bookings an order's visit lines pay for, in line order."""
    return [
        booking
        for line in quoted["lines"]
        if line["kind"] == "visit" and (booking := line.get("booking_id")) is not None
    ]
