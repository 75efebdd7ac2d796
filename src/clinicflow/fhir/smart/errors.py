"""The SMART token endpoint's refusals (RFC 6749 §5.2: `error` rides as an extension member)
and the registry's."""

from __future__ import annotations

from clinicflow.shared.errors import DomainError, NotFound


class SmartTokenError(DomainError, code="oauth_error", status=400, title="Token request refused"):
    """`invalid_request`, `invalid_grant`, `invalid_scope`, `unsupported_grant_type`."""


class SmartClientRefused(SmartTokenError, status=401):
    """`invalid_client`: the assertion or its signer is not accepted."""


class SmartClientNotFound(NotFound, code="smart_client_not_found"): ...


class SmartTokenInvalid(DomainError, code="invalid_token", status=401, title="Unauthorized"):
    """A SMART access token that is unknown, expired, or whose client was revoked."""
