"""Staff sign-in's errors; the gateway maps each `code` to problem+json."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, DomainError


class SecondFactorRequired(
    DomainError, code="totp_required", status=401, title="Second factor required"
): ...


class SignInBackoff(
    DomainError, code="sign_in_backoff", status=429, title="Too many failed sign-ins"
): ...


class UsernameTaken(Conflict):
    """Raised by the repository when the name is already an account's (a unique index)."""
