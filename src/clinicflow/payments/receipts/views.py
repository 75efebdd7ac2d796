"""Itemized receipts (a superbill when staff add CPT/ICD-10 codes): the clinic's billing
identity, the patient, each visit's practitioner, date of service and description, amounts
and discounts, HSA/FSA eligibility per line, and how it was paid. The routes render the same
`Receipt` as HTML (Jinja2, templates/receipt.html) or PDF (api.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.catalog import Catalog
from clinicflow.payments.domain.money import dollars
from clinicflow.payments.domain.quotes import QuotedLine
from clinicflow.payments.orders.views import LineView, OrderView

_METHODS = {
    "stripe": "Card, paid online (Stripe)",
    "paypal": "PayPal",
    "cash": "Cash, at the clinic",
    "card_terminal": "Card, at the clinic's terminal",
    "credit": "Package visit credit",
}


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    description: str
    practitioner: str
    date_of_service: str
    unit: str
    discount: str
    total: str
    total_cents: int
    hsa_fsa_eligible: bool
    paid_with_credit: bool
    cpt_codes: tuple[str, ...]
    icd10_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Receipt:
    order_id: str
    status: str
    issued: str
    paid_at: str
    clinic_name: str
    legal_name: str
    address: tuple[str, ...]
    tax_id: str
    contact: str
    patient_name: str
    lines: tuple[ReceiptLine, ...]
    discounts: tuple[tuple[str, str], ...]  # (why, amount)
    subtotal: str
    discount_total: str
    total: str
    refunded: str
    net_paid: str
    hsa_fsa_total: str
    method: str
    currency: str
    notes: tuple[str, ...]


def build_receipt(
    order: OrderView, catalog: Catalog, patient_name: str | None, now: datetime
) -> Receipt:
    tz = catalog.clinic.tz
    billing = catalog.payments.billing
    bookings = {line.booking_id: line for line in order.bookings}
    lines = tuple(
        _line(x, bookings.get(x.get("booking_id") or ""), catalog) for x in order.quote["lines"]
    )
    hsa = sum(x.total_cents for x in lines if x.hsa_fsa_eligible)
    contact = " · ".join(v for v in (billing.phone, billing.email) if v) if billing else ""
    paid = order.paid_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if order.paid_at else ""
    return Receipt(
        order_id=order.id,
        status=order.status,
        issued=now.astimezone(tz).strftime("%Y-%m-%d"),
        paid_at=paid,
        clinic_name=catalog.clinic.name,
        legal_name=billing.legal_name if billing else catalog.clinic.name,
        address=billing.address if billing else (),
        tax_id=(billing.tax_id if billing else None) or "not assigned yet",
        contact=contact,
        patient_name=patient_name or "(name not on file)",
        lines=lines,
        discounts=tuple(
            (d["description"], dollars(d["amount_cents"])) for d in order.quote["discounts"]
        ),
        subtotal=dollars(order.subtotal_cents),
        discount_total=dollars(order.discount_cents),
        total=dollars(order.total_cents),
        refunded=dollars(order.refunded_cents),
        net_paid=dollars(order.total_cents - order.refunded_cents),
        hsa_fsa_total=dollars(hsa),
        method=_method(order),
        currency=order.currency,
        notes=tuple(order.quote.get("notes", ())),
    )


def _line(quoted: QuotedLine, booking: LineView | None, catalog: Catalog) -> ReceiptLine:
    practitioner, when = "", ""
    if booking is not None:
        person = catalog.practitioners.get(booking.practitioner)
        practitioner = f"{person.name}, {person.title}" if person else booking.practitioner
        when = booking.starts_at.astimezone(catalog.clinic.tz).strftime("%Y-%m-%d")
    unit = quoted["unit_cents"] or 0
    return ReceiptLine(
        description=quoted["description"],
        practitioner=practitioner,
        date_of_service=when,
        unit=dollars(unit),
        discount=dollars(quoted["discount_cents"]),
        total=dollars(quoted["total_cents"]),
        total_cents=quoted["total_cents"],
        hsa_fsa_eligible=bool(quoted["hsa_fsa_eligible"]),
        paid_with_credit=bool(quoted.get("credit_id")),
        cpt_codes=booking.cpt_codes if booking is not None else (),
        icd10_codes=booking.icd10_codes if booking is not None else (),
    )


def _method(order: OrderView) -> str:
    if order.method == "in_clinic":
        return _METHODS.get(order.tender or "", "At the clinic")
    if order.total_cents == 0:
        return _METHODS["credit"]
    return _METHODS.get(order.provider or order.method, order.method)
