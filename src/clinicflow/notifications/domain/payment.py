"""The facts of a payment a message is about, as carried by payments' events: a receipt when
a payment succeeds, a refund notice when money goes back.

Payment events carry ids, amounts and statuses only; the patient's address is read at send
time like for any message, and the visits the payment covered are looked up by their ids
(service keys and times, the same facts booking events carry). Nothing is sent when there is
nobody to tell or no money moved (a visit paid with a package credit, a no-show refund of 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

PAYMENT_KINDS = {
    "payment.succeeded": "receipt",
    "payment.refunded": "refund",
}

# Payment methods (and the provider that took the money) in words, as the receipt names them.
_METHOD_WORDS = {
    "stripe": "Card, paid online",
    "paypal": "PayPal",
    "in_clinic": "In person at the clinic",
    "credit": "Package visit credit",
}
_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}


@dataclass(frozen=True, slots=True)
class PaidVisit:
    booking_id: str
    service: str
    start: datetime  # aware UTC


@dataclass(frozen=True, slots=True)
class PaymentNotice:
    order_id: str
    amount_cents: int  # what this message is about: the total paid, or this refund
    total_cents: int  # the order's total
    refunded_cents: int  # refunded so far, this refund included
    currency: str
    method: str  # stripe | paypal | in_clinic
    provider: str | None  # who took the money: stripe | paypal | in_clinic | credit
    booking_ids: tuple[str, ...] = ()
    patient_id: str | None = None
    refund_id: str | None = None
    visits: tuple[PaidVisit, ...] = ()  # the visits paid for, looked up by `booking_ids`

    @classmethod
    def from_payload(cls, type_: str, payload: Mapping[str, Any]) -> PaymentNotice:
        refund = PAYMENT_KINDS.get(type_) == "refund"
        amount = payload["amount_cents"] if refund else payload["total_cents"]
        return cls(
            order_id=str(payload["order_id"]),
            amount_cents=int(amount),
            total_cents=int(payload["total_cents"]),
            refunded_cents=int(payload.get("refunded_cents") or 0),
            currency=str(payload["currency"]),
            method=str(payload["method"]),
            provider=payload.get("provider"),
            booking_ids=tuple(str(b) for b in payload.get("booking_ids") or ()),
            patient_id=payload.get("patient_id"),
            refund_id=payload.get("refund_id") if refund else None,
        )

    def about(self, visits: Iterable[PaidVisit]) -> PaymentNotice:
        return replace(self, visits=tuple(sorted(visits, key=lambda v: v.start)))

    @property
    def fully_refunded(self) -> bool:
        return self.refunded_cents >= self.total_cents

    def facts(self) -> dict[str, Any]:
        """What a message row keeps to render its text again on read: ids, amounts and the
        visits' service keys and times; no PHI."""
        return {
            "order_id": self.order_id,
            "amount_cents": self.amount_cents,
            "total_cents": self.total_cents,
            "refunded_cents": self.refunded_cents,
            "currency": self.currency,
            "method": self.method,
            "provider": self.provider,
            "booking_ids": list(self.booking_ids),
            "refund_id": self.refund_id,
            "visits": [
                {"booking_id": v.booking_id, "service": v.service, "start": v.start.isoformat()}
                for v in self.visits
            ],
        }

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any]) -> PaymentNotice:
        return cls(
            order_id=str(facts["order_id"]),
            amount_cents=int(facts["amount_cents"]),
            total_cents=int(facts["total_cents"]),
            refunded_cents=int(facts["refunded_cents"]),
            currency=str(facts["currency"]),
            method=str(facts["method"]),
            provider=facts.get("provider"),
            booking_ids=tuple(facts.get("booking_ids") or ()),
            refund_id=facts.get("refund_id"),
            visits=tuple(
                PaidVisit(v["booking_id"], v["service"], datetime.fromisoformat(v["start"]))
                for v in facts.get("visits") or ()
            ),
        )


def tells_patient(notice: PaymentNotice) -> bool:
    """Whether the event is worth a message: a patient to tell, and money that moved."""
    return notice.patient_id is not None and notice.amount_cents > 0


def money_text(cents: int, currency: str) -> str:
    """`11900, "USD"` → `"$119.00"`; a currency without a symbol here: `"119.00 CHF"`."""
    code = currency.upper()
    sign = "-" if cents < 0 else ""
    number = f"{abs(cents) // 100:,}.{abs(cents) % 100:02d}"
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}"


def method_words(method: str, provider: str | None) -> str:
    """How the payment was made, in words: the provider that took the money when known (a
    Stripe checkout that fell back to PayPal was paid with PayPal), else the method asked."""
    for key in (provider, method):
        if key in _METHOD_WORDS:
            return _METHOD_WORDS[key]
    return method.replace("_", " ").capitalize()
