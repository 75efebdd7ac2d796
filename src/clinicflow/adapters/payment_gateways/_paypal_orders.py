"""PayPal Orders v2 and Payments v2 objects (full representations) in the port's terms."""

from __future__ import annotations

from typing import Any

from clinicflow.adapters.payment_gateways._common import from_rfc3339
from clinicflow.adapters.payment_gateways.paypal_money import from_paypal_value
from clinicflow.payments.ports import (
    GatewayPayment,
    GatewayRecord,
    GatewayRefund,
    PaymentStatus,
    RefundStatus,
)

PROVIDER = "paypal"
_ORDER_STATUSES: dict[str, PaymentStatus] = {
    "CREATED": "requires_action",
    "SAVED": "requires_action",
    "PAYER_ACTION_REQUIRED": "requires_action",
    "APPROVED": "requires_capture",
    "VOIDED": "canceled",
}
# A COMPLETED order only says the capture call ran; the capture says whether money moved.
_CAPTURE_STATUSES: dict[str, PaymentStatus] = {
    "COMPLETED": "succeeded",
    "PARTIALLY_REFUNDED": "succeeded",
    "REFUNDED": "succeeded",
    "PENDING": "processing",
    "DECLINED": "failed",
    "FAILED": "failed",
}
_RECEIVED = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
_REFUND_STATUSES: dict[str, RefundStatus] = {
    "COMPLETED": "succeeded",
    "PENDING": "pending",
    "FAILED": "failed",
    "CANCELLED": "canceled",
}
# The buyer approves at "payer-action" when the order was created with a payment_source,
# at "approve" when it was not.
_APPROVE_RELS = ("payer-action", "approve")


def unit(order: dict[str, Any]) -> dict[str, Any]:
    units = order.get("purchase_units") or [{}]
    first: dict[str, Any] = units[0]
    return first


def captures(order: dict[str, Any]) -> list[dict[str, Any]]:
    return list((unit(order).get("payments") or {}).get("captures") or [])


def refunds(order: dict[str, Any]) -> list[dict[str, Any]]:
    return list((unit(order).get("payments") or {}).get("refunds") or [])


def money(amount: dict[str, Any]) -> tuple[int, str]:
    currency = str(amount["currency_code"]).upper()
    return from_paypal_value(str(amount["value"]), currency), currency


def captured_id(order: dict[str, Any]) -> str | None:
    """The capture that took the money: what PayPal refunds."""
    return next((str(c["id"]) for c in captures(order) if c.get("status") in _RECEIVED), None)


def status(order: dict[str, Any]) -> PaymentStatus:
    raw = str(order.get("status"))
    if raw != "COMPLETED":
        return _ORDER_STATUSES.get(raw, "requires_action")
    latest = captures(order)[-1:] or [{}]
    return _CAPTURE_STATUSES.get(str(latest[0].get("status")), "processing")


def payment(order: dict[str, Any]) -> GatewayPayment:
    amount, currency = money(unit(order)["amount"])
    links = order.get("links") or []
    approve = next((link["href"] for link in links if link.get("rel") in _APPROVE_RELS), None)
    return GatewayPayment(
        provider=PROVIDER,
        provider_id=str(order["id"]),
        status=status(order),
        amount_cents=amount,
        currency=currency,
        amount_received_cents=_received(order),
        approve_url=approve if status(order) == "requires_action" else None,
        failure_code=_failure_code(order),
    )


def record(order: dict[str, Any]) -> GatewayRecord:
    amount, currency = money(unit(order)["amount"])
    returned = [r for r in refunds(order) if r.get("status") in ("COMPLETED", "PENDING")]
    return GatewayRecord(
        provider=PROVIDER,
        provider_id=str(order["id"]),
        order_id=unit(order).get("custom_id"),
        status=status(order),
        amount_cents=amount,
        amount_received_cents=_received(order),
        refunded_cents=sum(money(r["amount"])[0] for r in returned),
        currency=currency,
        created=from_rfc3339(str(order["create_time"])),
    )


def refund(obj: dict[str, Any], payment_id: str) -> GatewayRefund:
    amount, currency = money(obj["amount"])
    return GatewayRefund(
        provider=PROVIDER,
        provider_id=str(obj["id"]),
        payment_id=payment_id,
        status=_REFUND_STATUSES.get(str(obj.get("status")), "pending"),
        amount_cents=amount,
        currency=currency,
    )


def _received(order: dict[str, Any]) -> int:
    return sum(money(c["amount"])[0] for c in captures(order) if c.get("status") in _RECEIVED)


def _failure_code(order: dict[str, Any]) -> str | None:
    failed = [c for c in captures(order) if c.get("status") in ("DECLINED", "FAILED")]
    if not failed:
        return None
    reason = (failed[-1].get("status_details") or {}).get("reason")
    return str(reason or failed[-1]["status"])
