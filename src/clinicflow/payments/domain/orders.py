"""An order's status moves only forward, whatever order the gateway's events arrive in.

    open → pending → paid → partially_refunded → refunded
       ↘      ↘ failed ↗ (the buyer may try again on the same payment)
        canceled

A late `processing` after `succeeded`, or a `failed` after `succeeded`, changes nothing.
Only the gateway's word moves an order to paid: a verified webhook, or the answer of a
capture or retrieve call made by the server (never the browser's say-so).

`Order` and `OrderLine` are an order and the visits it pays for, as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from clinicflow.payments.domain.quotes import QuotedLine, QuotedOrder

OrderStatus = Literal[
    "open", "pending", "paid", "failed", "canceled", "refunded", "partially_refunded"
]
SETTLED = frozenset({"paid", "partially_refunded", "refunded"})
UNPAID = frozenset({"open", "pending", "failed"})

_NEXT: dict[str, dict[str, OrderStatus]] = {
    # gateway status or event → from these statuses → to
    "succeeded": {"open": "paid", "pending": "paid", "failed": "paid", "canceled": "paid"},
    "processing": {"open": "pending"},
    "requires_capture": {"open": "pending"},
    "requires_action": {"open": "pending"},
    "failed": {"open": "failed", "pending": "failed"},
    "canceled": {"open": "canceled", "pending": "canceled", "failed": "canceled"},
}


def next_status(current: str, gateway_status: str) -> OrderStatus | None:
    """The status a gateway report moves the order to; None when it changes nothing."""
    return _NEXT.get(gateway_status, {}).get(current)


def after_refund(total_cents: int, refunded_cents: int) -> OrderStatus:
    if refunded_cents <= 0:
        return "paid"
    return "refunded" if refunded_cents >= total_cents else "partially_refunded"


@dataclass(frozen=True, slots=True)
class Order:
    """An order as stored (`payments_order`): what it costs, how it is paid, where it stands."""

    id: str
    patient_id: str
    status: str
    currency: str
    quote: QuotedOrder  # the itemized breakdown it was placed at
    subtotal_cents: int
    discount_cents: int
    total_cents: int
    refunded_cents: int
    method: str  # stripe | paypal | in_clinic
    tender: str | None  # in clinic: cash | card_terminal
    provider: str | None  # the gateway that holds the payment
    provider_id: str | None  # its payment id
    promo_code: str | None
    failure_code: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None = None

    def quoted(self, index: int) -> QuotedLine:
        return next(x for x in self.quote["lines"] if x["index"] == index)

    def quoted_booking(self, booking_id: str | None) -> QuotedLine | None:
        """The quoted line of a visit this order pays for."""
        if booking_id is None:
            return None
        return next((x for x in self.quote["lines"] if x.get("booking_id") == booking_id), None)

    @property
    def buys_package(self) -> bool:
        return any(x["kind"] == "package" for x in self.quote["lines"])


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One visit an order pays for (`payments_order_booking`) and what became of it."""

    order_id: str
    booking_id: str
    line_index: int
    service: str
    visit_type: str
    practitioner: str
    starts_at: datetime
    net_cents: int  # the line's total after discounts
    credit_id: str | None  # the package credit that covers it
    state: str  # reserved | confirmed | released | lost
    confirmed_booking_id: str | None = None  # a lapsed hold booked anew on payment
    refunded_cents: int = 0
    cpt_codes: tuple[str, ...] = ()
    icd10_codes: tuple[str, ...] = ()

    def pays_for(self, booking_id: str) -> bool:
        return booking_id in (self.booking_id, self.confirmed_booking_id)
