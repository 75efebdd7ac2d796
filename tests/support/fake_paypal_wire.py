"""PayPal's wire format, as the fake speaks it: ids, error bodies, order, capture and
refund objects, amount checks."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from support.fake_http import Reply, json_reply

VALUE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
ZERO_DECIMAL = {"HUF", "JPY", "TWD"}
_ALNUM = "ABCDEFGHJKLMNPRSTUVWXY0123456789"
CHECKOUT = "https://www.sandbox.paypal.com/checkoutnow?token="


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def paypal_id() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(17))


def paypal_error(status: int, name: str, message: str, issue: str | None = None) -> Reply:
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": uuid.uuid4().hex[:13]}
    if issue is not None:
        body["details"] = [{"issue": issue, "description": message}]
    return json_reply(status, body)


def unprocessable(issue: str, message: str) -> Reply:
    return paypal_error(422, "UNPROCESSABLE_ENTITY", message, issue)


def not_found() -> Reply:
    return paypal_error(
        404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.", "INVALID_RESOURCE_ID"
    )


def order_object(order_id: str, body: dict[str, Any], paying: bool, created: str) -> dict[str, Any]:
    """`paying`: created with payment_source.paypal, so the buyer acts at "payer-action"."""
    return {
        "id": order_id,
        "intent": body["intent"],
        "status": "PAYER_ACTION_REQUIRED" if paying else "CREATED",
        "purchase_units": [{"reference_id": "default", **body["purchase_units"][0]}],
        "create_time": created,
        "links": [
            link(f"/v2/checkout/orders/{order_id}", "self"),
            link(CHECKOUT + order_id, "payer-action" if paying else "approve"),
            link(f"/v2/checkout/orders/{order_id}/capture", "capture", "POST"),
        ],
    }


def capture_object(capture_id: str, unit: dict[str, Any], created: str) -> dict[str, Any]:
    return {
        "id": capture_id,
        "status": "COMPLETED",
        "amount": dict(unit["amount"]),
        "final_capture": True,
        "custom_id": unit.get("custom_id"),
        "create_time": created,
        "update_time": created,
        "links": [
            link(f"/v2/payments/captures/{capture_id}", "self"),
            link(f"/v2/payments/captures/{capture_id}/refund", "refund", "POST"),
        ],
    }


def refund_object(
    refund_id: str, capture_id: str, amount: dict[str, str], custom_id: str | None, created: str
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "status": "COMPLETED",
        "amount": amount,
        **({"custom_id": custom_id} if custom_id else {}),
        "create_time": created,
        "links": [
            link(f"/v2/payments/refunds/{refund_id}", "self"),
            link(f"/v2/payments/captures/{capture_id}", "up"),
        ],
    }


def link(href: str, rel: str, method: str = "GET") -> dict[str, str]:
    base = "" if href.startswith("http") else "https://api.sandbox.paypal.com"
    return {"href": base + href, "rel": rel, "method": method}


def amount_problem(amount: dict[str, Any]) -> Reply | None:
    currency, value = amount.get("currency_code"), amount.get("value")
    if not isinstance(currency, str) or not isinstance(value, str) or not VALUE.match(value):
        return paypal_error(
            400,
            "INVALID_REQUEST",
            "amount needs currency_code and value.",
            "INVALID_PARAMETER_SYNTAX",
        )
    places = len(value.partition(".")[2])
    if places > (0 if currency in ZERO_DECIMAL else 2):
        return unprocessable(
            "DECIMAL_PRECISION", f"{currency} does not support this many decimals."
        )
    return None
