"""Web Push registration's errors, answered as problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import NotFound


class PushNotConfigured(
    NotFound, code="push_not_configured", title="Push notifications are not configured"
): ...
