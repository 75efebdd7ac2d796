"""The token endpoint's errors; the gateway maps each `code` to problem+json."""

from __future__ import annotations

from clinicflow.shared.errors import DomainError


class OAuthError(DomainError, code="oauth_error", status=400, title="Token request refused"):
    """RFC 6749 §5.2 errors; `error` is carried as an extension member of the problem."""


class InvalidClient(OAuthError, status=401): ...
