"""Payments' domain errors; the gateway maps each `code` to problem+json."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, DomainError, InvalidRequest, NotFound


class UnknownPriceItem(InvalidRequest, code="unknown_price_item"):
    """A line names a service, visit type or package the catalog does not have."""


class PromotionRejected(
    DomainError, code="promotion_rejected", status=422, title="Promotion code cannot be used"
):
    """A promotion code that exists but cannot be used on this order now."""


class UnknownPromotionCode(PromotionRejected, code="unknown_promotion_code"): ...


class PromotionNotStarted(PromotionRejected, code="promotion_not_started"): ...


class PromotionExpired(PromotionRejected, code="promotion_expired"): ...


class PromotionUsedUp(PromotionRejected, code="promotion_used_up"): ...


class PromotionPatientLimitReached(PromotionRejected, code="promotion_patient_limit_reached"): ...


class PromotionNotApplicable(PromotionRejected, code="promotion_not_applicable"): ...


class UnknownCredit(NotFound, code="unknown_credit"): ...


class CreditUnavailable(Conflict, code="credit_unavailable", title="No package credit available"):
    """No usable credit: none left, expired, or none for that service and visit type."""


class CreditNotReturnable(
    Conflict, code="credit_not_returnable", title="Package credit cannot be returned"
): ...


class InvalidRefundOverride(InvalidRequest, code="invalid_refund_override"): ...
