"""Identity's domain errors; the gateway maps each `code` to problem+json."""

from __future__ import annotations

from clinicflow.shared.errors import DomainError


class TokenInvalid(DomainError, code="invalid_token", status=401, title="Invalid credentials"): ...


class InsufficientScope(
    DomainError, code="insufficient_scope", status=403, title="Not allowed"
): ...
