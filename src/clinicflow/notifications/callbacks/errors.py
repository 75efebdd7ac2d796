"""The providers' callbacks' errors, answered as problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import Forbidden


class WebhookRefused(
    Forbidden, code="webhook_not_authenticated", title="Webhook not authenticated"
): ...
