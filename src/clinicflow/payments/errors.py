"""Errors of the payments use cases (the pricing ones are in domain/errors.py); the gateway
maps each `code` to problem+json, with `detail` saying what to change."""

from __future__ import annotations

from clinicflow.payments.domain.errors import (
    PromotionExpired,
    PromotionNotApplicable,
    PromotionNotStarted,
    PromotionPatientLimitReached,
    PromotionUsedUp,
    UnknownCredit,
    UnknownPriceItem,
    UnknownPromotionCode,
)
from clinicflow.shared.errors import Conflict, DomainError, InvalidRequest, NotFound


class PaymentNotFound(NotFound, code="payment_not_found"): ...


class UnpriceableOrder(
    DomainError, code="unpriceable_order", status=422, title="Order cannot be priced"
):
    """An item has no decided price (TBD) or its service is not offered yet."""


class BookingNotPayable(
    Conflict, code="booking_not_payable", title="Booking cannot be paid for"
): ...


class BookingAlreadyInOrder(
    Conflict, code="booking_already_in_order", title="Booking already has an order"
): ...


class PaymentStateConflict(
    Conflict, code="payment_state_conflict", title="Not allowed in the payment's current status"
): ...


class MethodNotConfigured(InvalidRequest, code="payment_method_not_configured"): ...


class PaymentDeclinedError(
    DomainError, code="payment_declined", status=402, title="Payment declined"
): ...


class GatewayFailed(
    DomainError, code="payment_gateway_error", status=502, title="Payment gateway error"
):
    """The gateway refused the request for a reason the caller cannot fix here."""


class GatewayDown(
    DomainError, code="payment_gateway_unavailable", status=503, title="Payment gateway unavailable"
):
    """The gateway is unreachable or its circuit is open; `alternatives` names the
    methods that may work now for the same order."""


class WebhookRejected(
    DomainError, code="webhook_signature_invalid", status=400, title="Webhook signature invalid"
): ...


class RefundNotAllowed(Conflict, code="refund_not_allowed", title="Refund not allowed"): ...


class InvalidCodes(InvalidRequest, code="invalid_billing_codes"): ...


class IdempotencyKeyReused(InvalidRequest, code="idempotency_key_reused"): ...


class IdempotencyKeyInUse(
    Conflict,
    code="idempotency_key_in_use",
    title="A request with this Idempotency-Key is in progress",
):
    """A request with the same key is still at work (its gateway call)."""


class PayloadTooLarge(
    DomainError, code="payload_too_large", status=413, title="Payload too large"
): ...


# What pricing an order can refuse, and what asking a payment gateway can meet: the
# problem responses the routes that price or pay document.
PRICING = (
    UnknownPriceItem,
    UnknownPromotionCode,
    PromotionNotStarted,
    PromotionExpired,
    PromotionUsedUp,
    PromotionPatientLimitReached,
    PromotionNotApplicable,
    UnknownCredit,
)
GATEWAY = (MethodNotConfigured, PaymentDeclinedError, GatewayFailed, GatewayDown)
