"""One place that turns errors into RFC 9457 problem+json responses."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from clinicflow.fhir.outcome import is_fhir, outcome_response
from clinicflow.gateway.asgi import HttpMiddleware
from clinicflow.infra.error_responses import PROBLEM
from clinicflow.shared.errors import DomainError

log = structlog.get_logger(__name__)


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
    if isinstance(extra.get("retry_after"), int | float):  # when to come back (RFC 9110 §10.2.3)
        headers["Retry-After"] = str(max(1, round(extra["retry_after"])))
    if is_fhir(instance):  # the FHIR API answers errors as OperationOutcome resources
        return outcome_response(status, code, detail, headers)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _challenge(code: str, extra: dict[str, Any]) -> str:
    """How to authenticate, as a 401 must say (RFC 9110 §11.6.1, RFC 6750 §3)."""
    if extra.get("error") == "invalid_client":
        # RFC 6749 §5.2: the scheme the token endpoint accepts client credentials by.
        return 'Basic realm="clinicflow"'
    if code == "invalid_token":
        return 'Bearer realm="clinicflow", error="invalid_token"'
    return 'Bearer realm="clinicflow"'


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (RFC 9110 §15.5.6: a 405 says which).
    Starlette names only the first route's, and one path often has a route per method; the
    routes are asked by method, as included routers answer only that question."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


# Starlette's and FastAPI's own errors. A 400 is a body that is not well-formed.
CODES = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


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
        code = CODES.get(exc.status_code, "http_error")
        detail = str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 400:  # FastAPI's only one: a body that does not parse
            detail = f"{detail}: send well-formed JSON (or the form this route takes)"
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not served here; use {' or '.join(allowed)}"
        answer = problem(exc.status_code, code, str(exc.detail), detail, request.url.path)
        answer.headers.update(headers)
        return answer


class UnhandledErrors(HttpMiddleware):
    """Any other exception: a 500 problem, and one log line with the exception's type (and,
    from the log context, the request id) — never its message or traceback, which for a
    database error quote the statement's parameters (PHI, credentials).

    ASGI middleware inside the request id's log context. (Starlette's handler for
    `Exception` would answer the same, but then re-raises to the server, which logs the whole
    traceback.)"""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log.error("unhandled_error", error=type(exc).__name__)
            if not started:  # else the client sees the answer cut short
                await problem(
                    500,
                    "internal_error",
                    "Internal error",
                    "something went wrong on our side; nothing was changed, try again",
                    scope["path"],
                )(scope, receive, send)


def _field_error(error: Any) -> dict[str, str]:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
    message = str(error.get("msg", "invalid"))
    # Echo no input value: it may be a patient's name or phone number.
    return {"field": ".".join(loc) or "body", "message": message}
