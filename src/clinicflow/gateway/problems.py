"""One place that turns errors into RFC 9457 problem+json responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from clinicflow.shared.errors import DomainError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(
    status: int, code: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"https://clinicflow.dev/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    headers = {"WWW-Authenticate": _challenge(code, extra)} if status == 401 else {}
    if status in (503, 504) and "retry_after" in extra:  # when to come back (RFC 9110 §10.2.3)
        headers["Retry-After"] = str(max(1, round(extra["retry_after"])))
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _challenge(code: str, extra: dict[str, Any]) -> str:
    """How to authenticate, as a 401 must say (RFC 9110 §11.6.1, RFC 6750 §3)."""
    if extra.get("error") == "invalid_client":
        # RFC 6749 §5.2: the scheme the token endpoint accepts client credentials by.
        return 'Basic realm="clinicflow"'
    if code == "invalid_token":
        return 'Bearer realm="clinicflow", error="invalid_token"'
    return 'Bearer realm="clinicflow"'


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [_field_error(e) for e in exc.errors()]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return problem(
            422, "validation_error", "Invalid request", detail, request.url.path, errors=fields
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only the type goes to the log: messages of driver errors can quote PHI parameters.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return problem(
            500,
            "internal_error",
            "Internal error",
            "something went wrong on our side; nothing was changed, try again",
            request.url.path,
        )


def _field_error(error: Any) -> dict[str, str]:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
    message = str(error.get("msg", "invalid"))
    # Echo no input value: it may be a patient's name or phone number.
    return {"field": ".".join(loc) or "body", "message": message}
