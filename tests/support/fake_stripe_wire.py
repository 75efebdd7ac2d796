"""Stripe's wire format, as the fake speaks it: bracketed form bodies, error objects,
events, and Stripe-Signature (computed here with its own HMAC code, not the SDK's)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

from support.fake_http import Reply, json_reply


def sign(secret: str, payload: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event_body(event_type: str, obj: dict[str, Any], created: int) -> bytes:
    event = {
        "id": "evt_" + uuid.uuid4().hex[:24],
        "object": "event",
        "api_version": "2026-06-24.dahlia",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(event).encode()


def stripe_error(status: int, kind: str, message: str, **fields: Any) -> Reply:
    error = {"type": kind, "message": message, **{k: v for k, v in fields.items() if v}}
    if "code" in error:
        error["doc_url"] = f"https://docs.stripe.com/error-codes/{error['code']}"
    return json_reply(status, {"error": error}, {"Request-Id": "req_" + uuid.uuid4().hex[:14]})


def intent_object(
    intent_id: str, amount: int, currency: str, form: dict[str, Any], created: int
) -> dict[str, Any]:
    methods = form.get("automatic_payment_methods", {})
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "automatic_payment_methods": {"enabled": methods.get("enabled") == "true"}
        if methods
        else None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{uuid.uuid4().hex[:24]}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": form.get("customer"),
        "description": form.get("description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(form.get("metadata", {})),
        "payment_method": None,
        "payment_method_types": list(form.get("payment_method_types", ["card"])),
        "status": "requires_payment_method",
    }


def charge_object(charge_id: str, intent: dict[str, Any], created: int) -> dict[str, Any]:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"],
        "amount_refunded": 0,
        "captured": True,
        "currency": intent["currency"],
        "created": created,
        "paid": True,
        "payment_intent": intent["id"],
        "refunded": False,
        "status": "succeeded",
    }


def invalid(
    message: str,
    code: str | None = None,
    param: str | None = None,
    *,
    status: int = 400,
    **fields: Any,
) -> Reply:
    return stripe_error(status, "invalid_request_error", message, code=code, param=param, **fields)


def decode_form(text: str) -> dict[str, Any]:
    """Stripe's bracket notation: `a[b]=1` → {"a": {"b": "1"}}; `a[0]=x` and `a[]=x` → lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        name, _, rest = key.partition("[")
        path = [name, *rest.rstrip("]").split("][")] if rest else [name]
        node = root
        for here, after in itertools.pairwise(path):
            node = node.setdefault(here, {})
            if after == "":
                path[-1] = str(len(node))
        node[path[-1]] = value
    decoded: dict[str, Any] = _lists(root)
    return decoded


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}
