"""Webhook errors, answered as problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, InvalidRequest, NotFound
from clinicflow.webhooks.domain.rules import RuleViolation


class InvalidSubscription(InvalidRequest):
    """Shaped like the gateway's request validation errors: `errors` names each field."""

    code = "validation_error"

    @classmethod
    def of(cls, violation: RuleViolation) -> InvalidSubscription:
        return cls(
            str(violation), errors=[{"field": violation.field, "message": violation.message}]
        )


class SubscriptionNotFound(NotFound, code="webhook_subscription_not_found"): ...


class DeliveryNotFound(NotFound, code="webhook_delivery_not_found"): ...


class NotRetryable(Conflict, code="webhook_delivery_not_retryable"): ...
