"""Stripe SDK objects and errors in the port's terms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from stripe import (
    APIConnectionError,
    CardError,
    Charge,
    IdempotencyError,
    PaymentIntent,
    Refund,
    StripeError,
)

from clinicflow.adapters.payment_gateways._common import from_unix, is_transient, retry_after
from clinicflow.payments.ports import (
    GatewayError,
    GatewayPayment,
    GatewayRecord,
    GatewayRefund,
    GatewayRejected,
    GatewayUnavailable,
    PaymentDeclined,
    PaymentStatus,
    RefundStatus,
)

T = TypeVar("T")
PROVIDER = "stripe"
_PASSTHROUGH: dict[str, PaymentStatus] = {
    "succeeded": "succeeded",
    "processing": "processing",
    "canceled": "canceled",
    "requires_capture": "requires_capture",
}
_REFUND_STATUSES: dict[str, RefundStatus] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}


async def call(operation: Callable[[], Awaitable[T]]) -> T:
    try:
        return await operation()
    except StripeError as exc:
        raise _translate(exc) from exc


def _translate(exc: StripeError) -> GatewayError:
    message = exc.user_message or type(exc).__name__
    if isinstance(exc, APIConnectionError):
        return GatewayUnavailable(PROVIDER, message)
    status = exc.http_status or 0
    # 409 is a concurrent request with the same idempotency key: Stripe says retry.
    if is_transient(status) or (status == 409 and not isinstance(exc, IdempotencyError)):
        return GatewayUnavailable(PROVIDER, f"answered {status}", retry_after(exc.headers))
    error = exc.error
    code = (error.code if error else None) or exc.code
    if isinstance(exc, IdempotencyError):
        code = code or "idempotency_error"
    if isinstance(exc, CardError):
        decline = error.decline_code if error else None
        return PaymentDeclined(PROVIDER, message, code=decline or code)
    return GatewayRejected(PROVIDER, message, code=code)


def _status(intent: PaymentIntent) -> PaymentStatus:
    if intent.status in _PASSTHROUGH:
        return _PASSTHROUGH[intent.status]
    # A failed attempt sends the intent back to requires_payment_method with the error kept.
    if intent.status == "requires_payment_method" and intent.last_payment_error is not None:
        return "failed"
    return "requires_action"


def _failure_code(intent: PaymentIntent) -> str | None:
    error = intent.last_payment_error
    if error is None:
        return None
    return error.decline_code or error.code


def payment(intent: PaymentIntent) -> GatewayPayment:
    return GatewayPayment(
        provider=PROVIDER,
        provider_id=intent.id,
        status=_status(intent),
        amount_cents=intent.amount,
        currency=intent.currency.upper(),
        amount_received_cents=intent.amount_received,
        client_secret=intent.client_secret,
        failure_code=_failure_code(intent),
    )


def refund(refund: Refund, payment_id: str) -> GatewayRefund:
    return GatewayRefund(
        provider=PROVIDER,
        provider_id=refund.id,
        payment_id=payment_id,
        status=_REFUND_STATUSES.get(refund.status or "", "pending"),
        amount_cents=refund.amount,
        currency=refund.currency.upper(),
    )


def record(intent: PaymentIntent) -> GatewayRecord:
    charge = intent.latest_charge
    refunded = charge.amount_refunded if isinstance(charge, Charge) else 0
    metadata = intent.metadata
    order_id = (
        str(metadata["order_id"]) if metadata is not None and "order_id" in metadata else None
    )
    return GatewayRecord(
        provider=PROVIDER,
        provider_id=intent.id,
        order_id=order_id,
        status=_status(intent),
        amount_cents=intent.amount,
        amount_received_cents=intent.amount_received,
        refunded_cents=refunded,
        currency=intent.currency.upper(),
        created=from_unix(intent.created),
    )
