"""Domain errors: raised by handlers, mapped to problem+json once, in the gateway."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """An error the caller can act on. `code` is stable; `detail` says what to change."""

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request cannot be carried out"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"


class InvalidRequest(DomainError):
    code = "invalid_request"
    status = 422
    title = "Invalid request"


class Unauthenticated(DomainError):
    """No credentials (or none we accept) where the request needs a caller."""

    code = "authentication_required"
    status = 401
    title = "Authentication required"


class Forbidden(DomainError):
    """The caller's role may never do this, whatever the resource."""

    code = "forbidden"
    status = 403
    title = "Not allowed"
