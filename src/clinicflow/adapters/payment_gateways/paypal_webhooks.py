"""PayPal webhooks: the verify-webhook-signature request, and the events payments acts on.

PayPal signs with its RSA certificate; the gateway asks PayPal itself to verify
(`POST /v1/notifications/verify-webhook-signature`), sending the transmission headers, our
configured webhook id and the event as received. PayPal documents no freshness window for
the transmission time, so none is enforced here; a replayed event is a duplicate, and the
ledger dedupes on the event id.

Subscribe the webhook to CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.COMPLETED, .PENDING,
.DENIED, .DECLINED, .REFUNDED and CUSTOMER.DISPUTE.CREATED. Capture events name our payment
(the order id) through supplementary_data.related_ids.order_id; refund events do not name
it, but carry the refund id and the custom_id (our order id) the gateway set on the refund.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from clinicflow.adapters.payment_gateways._common import from_rfc3339, header
from clinicflow.adapters.payment_gateways._paypal_orders import money
from clinicflow.payments.ports import EventType, GatewayEvent, WebhookSignatureInvalid

PROVIDER = "paypal"
# verify-webhook-signature field ← delivery header
TRANSMISSION_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}
_EVENTS: dict[str, EventType] = {
    "CHECKOUT.ORDER.APPROVED": "payment.requires_capture",
    "PAYMENT.CAPTURE.COMPLETED": "payment.succeeded",
    "PAYMENT.CAPTURE.PENDING": "payment.processing",
    "PAYMENT.CAPTURE.DENIED": "payment.failed",
    "PAYMENT.CAPTURE.DECLINED": "payment.failed",
    "PAYMENT.CAPTURE.REFUNDED": "refund.succeeded",
    "CUSTOMER.DISPUTE.CREATED": "dispute.opened",
}


def verification_request(
    headers: Mapping[str, str], event: Mapping[str, Any], webhook_id: str
) -> dict[str, Any]:
    """The body for verify-webhook-signature; a delivery missing a header is refused here."""
    fields: dict[str, Any] = {}
    for field, name in TRANSMISSION_HEADERS.items():
        value = header(headers, name)
        if not value:
            raise WebhookSignatureInvalid(PROVIDER, f"missing {name}")
        fields[field] = value
    return fields | {"webhook_id": webhook_id, "webhook_event": dict(event)}


def parse_paypal_event(event: Mapping[str, Any]) -> GatewayEvent:
    """An already verified event. Raises ValueError if it is not a PayPal webhook event."""
    if not isinstance(event.get("id"), str) or not isinstance(event.get("event_type"), str):
        raise ValueError("not a PayPal webhook event")
    raw_type = event["event_type"]
    resource = event.get("resource") or {}
    kind = _EVENTS.get(raw_type, "other")
    base = GatewayEvent(
        provider=PROVIDER,
        event_id=event["id"],
        type=kind,
        raw_type=raw_type,
        occurred_at=from_rfc3339(str(event["create_time"])),
    )
    if kind == "other" or kind == "dispute.opened":
        return base
    if raw_type == "CHECKOUT.ORDER.APPROVED":
        return _from_order(base, resource)
    return _from_payment(base, resource, refund=kind == "refund.succeeded")


def _from_order(base: GatewayEvent, order: dict[str, Any]) -> GatewayEvent:
    unit = (order.get("purchase_units") or [{}])[0]
    amount, currency = money(unit["amount"]) if "amount" in unit else (None, None)
    return replace(
        base,
        provider_payment_id=order.get("id"),
        order_id=unit.get("custom_id"),
        amount_cents=amount,
        currency=currency,
    )


def _from_payment(base: GatewayEvent, resource: dict[str, Any], *, refund: bool) -> GatewayEvent:
    related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
    amount, currency = money(resource["amount"]) if "amount" in resource else (None, None)
    failure = (resource.get("status_details") or {}).get("reason")
    return replace(
        base,
        provider_payment_id=None if refund else related.get("order_id"),
        order_id=resource.get("custom_id"),
        refund_id=resource.get("id") if refund else None,
        amount_cents=amount,
        currency=currency,
        failure_code=failure if base.type == "payment.failed" else None,
    )
