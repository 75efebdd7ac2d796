"""The Calendly webhook's refusals, answered as problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import DomainError, Forbidden


class CalendlyWebhookRefused(
    Forbidden, code="webhook_not_authenticated", title="Webhook not authenticated"
): ...


class CalendlyBodyTooLarge(
    DomainError, code="payload_too_large", status=413, title="Payload too large"
): ...
