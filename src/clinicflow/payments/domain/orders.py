"""An order's status moves only forward, whatever order the gateway's events arrive in.

    open → pending → paid → partially_refunded → refunded
       ↘      ↘ failed ↗ (the buyer may try again on the same payment)
        canceled

A late `processing` after `succeeded`, or a `failed` after `succeeded`, changes nothing.
Only the gateway's word moves an order to paid: a verified webhook, or the answer of a
capture or retrieve call made by the server (never the browser's say-so).
"""

from __future__ import annotations

from typing import Literal

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
