"""Domain errors: raised by handlers, mapped to problem+json once, in the gateway."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """An error the caller can act on. `code` is stable; `detail` says what to change.

    A subclass names what differs from its base in its class line, so a context's errors
    read as a table: `class SlotUnavailable(Conflict, code="slot_unavailable"): ...`."""

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request cannot be carried out"

    def __init_subclass__(
        cls,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError, code="not_found", status=404, title="Not found"): ...


class Conflict(
    DomainError, code="conflict", status=409, title="Conflict with the current state"
): ...


class InvalidRequest(DomainError, code="invalid_request", status=422, title="Invalid request"): ...


class Unauthenticated(
    DomainError, code="authentication_required", status=401, title="Authentication required"
):
    """No credentials (or none we accept) where the request needs a caller."""


class Forbidden(DomainError, code="forbidden", status=403, title="Not allowed"):
    """The caller's role may never do this, whatever the resource."""
