"""Stripe webhooks: `Stripe-Signature` verification and the events payments acts on.

The HMAC comparison is the SDK's (`WebhookSignature.verify_header`). Its age check reads
`time.time()` itself, so it is switched off there (tolerance=None) and done here against the
injected clock, with the SDK's rule: reject when `t < now - tolerance` (default 300 s).

Subscribe the endpoint to payment_intent.succeeded, .payment_failed, .processing, .canceled,
.amount_capturable_updated, refund.created, refund.updated, refund.failed and
charge.dispute.created. `charge.refunded` is reported as "other": it carries the charge's
cumulative refunded total, while the refund.* events name the refund, so partial refunds
match the ledger one by one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from stripe import SignatureVerificationError, WebhookSignature

from clinicflow.adapters.payment_gateways._common import from_unix
from clinicflow.payments.ports import EventType, GatewayEvent, WebhookSignatureInvalid

PROVIDER = "stripe"
DEFAULT_TOLERANCE = 300  # seconds, as stripe-python's Webhook.DEFAULT_TOLERANCE

_PAYMENT_EVENTS: dict[str, EventType] = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "payment_intent.processing": "payment.processing",
    "payment_intent.canceled": "payment.canceled",
    "payment_intent.amount_capturable_updated": "payment.requires_capture",
}
_REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed"})
_REFUND_STATUSES: dict[str, EventType] = {
    "pending": "refund.pending",
    "requires_action": "refund.pending",
    "succeeded": "refund.succeeded",
    "failed": "refund.failed",
    "canceled": "refund.failed",
}


def verify_stripe_signature(
    body: bytes,
    signature_header: str | None,
    secret: str,
    now: datetime,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Raises `WebhookSignatureInvalid` unless a v1 signature matches and `t` is recent."""
    try:
        WebhookSignature.verify_header(body, signature_header, secret, tolerance=None)
    except (SignatureVerificationError, UnicodeDecodeError) as exc:
        # The SDK's message quotes the header and payload; ours does not.
        raise WebhookSignatureInvalid(PROVIDER, "signature does not match") from exc
    assert signature_header is not None  # verify_header refuses a missing header
    if _timestamp(signature_header) < now.timestamp() - tolerance:
        raise WebhookSignatureInvalid(PROVIDER, "timestamp outside the tolerance")


def _timestamp(signature_header: str) -> int:
    for item in signature_header.split(","):
        name, _, value = item.partition("=")
        if name.strip() == "t":
            return int(value)
    raise WebhookSignatureInvalid(PROVIDER, "no timestamp in Stripe-Signature")


def parse_stripe_event(body: bytes) -> GatewayEvent:
    """An already verified event body. Raises ValueError if it is not a Stripe v1 event."""
    event = json.loads(body)
    if not isinstance(event, dict) or event.get("object") != "event":
        raise ValueError("not a Stripe event")
    raw_type = str(event["type"])
    obj = event.get("data", {}).get("object", {})
    base: dict[str, Any] = {
        "provider": PROVIDER,
        "event_id": str(event["id"]),
        "raw_type": raw_type,
        "occurred_at": from_unix(int(event["created"])),
    }
    if raw_type in _PAYMENT_EVENTS:
        return GatewayEvent(type=_PAYMENT_EVENTS[raw_type], **base, **_payment_fields(obj))
    if raw_type in _REFUND_EVENTS:
        status = str(obj.get("status"))
        kind = "refund.failed" if raw_type == "refund.failed" else _REFUND_STATUSES.get(status)
        return GatewayEvent(type=kind or "other", **base, **_refund_fields(obj))
    if raw_type == "charge.dispute.created":
        return GatewayEvent(
            type="dispute.opened",
            **base,
            provider_payment_id=_str_or_none(obj.get("payment_intent")),
            amount_cents=obj.get("amount"),
            currency=_currency(obj),
        )
    return GatewayEvent(type="other", **base)


def _payment_fields(obj: dict[str, Any]) -> dict[str, Any]:
    error = obj.get("last_payment_error") or {}
    succeeded = obj.get("status") == "succeeded"
    return {
        "provider_payment_id": _str_or_none(obj.get("id")),
        "order_id": _str_or_none((obj.get("metadata") or {}).get("order_id")),
        "amount_cents": obj.get("amount_received" if succeeded else "amount"),
        "currency": _currency(obj),
        "failure_code": _str_or_none(error.get("decline_code") or error.get("code")),
    }


def _refund_fields(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "provider_payment_id": _str_or_none(obj.get("payment_intent")),
        "order_id": _str_or_none((obj.get("metadata") or {}).get("order_id")),
        "refund_id": _str_or_none(obj.get("id")),
        "amount_cents": obj.get("amount"),
        "currency": _currency(obj),
        "failure_code": _str_or_none(obj.get("failure_reason")),
    }


def _currency(obj: dict[str, Any]) -> str | None:
    value = obj.get("currency")
    return value.upper() if isinstance(value, str) else None


def _str_or_none(value: object) -> str | None:
    # Expanded fields arrive as objects; only their id is wanted here.
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None
