"""The OpenAPI description, as clients and generated SDKs read it: readable operation ids,
error answers documented per operation as the problem+json they are, and no schema named for
a module path.

Each route declares what its use case raises (`**documented(...)`, infra.error_responses);
here every operation also gets the answers the edge gives before any route runs.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from clinicflow.gateway.ratelimit import RateLimited
from clinicflow.identity.errors import TokenInvalid
from clinicflow.infra.error_responses import PROBLEM, problem_response
from clinicflow.shared.errors import Forbidden

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details; `code` is stable, `detail` says "
    "what to change.",
    "type": "object",
    "required": ["type", "title", "status", "code", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "each field to change (validation errors)",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

# What the edge answers before a route runs (gateway.auth, .ratelimit, .hygiene, .problems):
# status, code, when.
Answer = tuple[int, str, str]
MALFORMED = (400, "malformed_body", "the body is not well-formed JSON (or form)")
INVALID = (422, "validation_error", "a parameter or the body is not what the route takes")
BAD_CREDENTIAL = (401, TokenInvalid.code, "a credential was sent and it is not valid")
NO_ROLE = (403, Forbidden.code, "a single sign-on token that maps to no staff role")
TOO_LARGE = (413, "payload_too_large", "the body is larger than the route takes")
MEDIA_TYPE = (415, "unsupported_media_type", "the body's Content-Type is not one it takes")
RATE_LIMITED = (429, RateLimited.code, "too many requests; Retry-After says when to try again")
ANY_OTHER = "Any other error (`internal_error`, ...), as problem details"
BODY_METHODS = frozenset({"post", "put", "patch"})


def operation_id(route: APIRoute) -> str:
    """A route without its own `operation_id`: its function's name, in camelCase."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def document(app: FastAPI, credential_routes: Collection[str], unlimited: Collection[str]) -> None:
    """`credential_routes` authenticate no one (a bad credential there is not a 401);
    `unlimited` are never rate limited."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        components["Problem"] = PROBLEM_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                edge = _edge_answers(method, path, operation, credential_routes, unlimited)
                operation["responses"] = _with(operation.setdefault("responses", {}), edge)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _edge_answers(
    method: str,
    path: str,
    operation: dict[str, Any],
    credential_routes: Collection[str],
    unlimited: Collection[str],
) -> list[Answer]:
    answers: list[Answer] = []
    if operation.get("parameters") or operation.get("requestBody"):
        answers.append(INVALID)
    if path not in credential_routes:
        answers += [BAD_CREDENTIAL, NO_ROLE]
    if operation.get("requestBody"):
        answers.append(MALFORMED)
    if method in BODY_METHODS:  # any body sent is checked, declared or not
        answers += [TOO_LARGE, MEDIA_TYPE]
    if path not in unlimited:
        answers.append(RATE_LIMITED)
    return answers


def _with(responses: dict[str, Any], answers: list[Answer]) -> dict[str, Any]:
    """`responses` with each edge answer merged in, in status order, `default` last."""
    merged = dict(responses)
    for status, code, when in answers:
        description = f"`{code}`: {when}"
        given = merged.get(str(status))
        if given is None or PROBLEM not in given.get("content", {}):
            # Absent, or FastAPI's own 422 shape, which is never sent.
            merged[str(status)] = problem_response(description)
        elif f"`{code}`" not in given["description"]:
            given["description"] = f"{given['description']}; {description}"
    merged.setdefault("default", problem_response(ANY_OTHER))
    return dict(sorted(merged.items(), key=lambda item: (item[0] == "default", item[0])))
