"""The error answers a route documents in its OpenAPI operation, built from the domain errors
its use case raises: one problem+json response per status, whose description names each
error's stable `code` (what a client branches on).

A route declares its documentation in one call, `documented(...)`, whose keyword arguments
the route decorator takes as they are:

    @router.get("/{patient_id}", **documented("getPatient", "Read a patient", PatientNotFound))

Its operation id and summary, then the errors its use case raises (`errors(...)` makes them
responses). The gateway adds the answers every route can give (a bad credential, the rate
limit, ...) and the `Problem` schema the responses point at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Required, TypedDict

from pydantic import BaseModel

from clinicflow.shared.errors import DomainError, Forbidden, Unauthenticated

PROBLEM = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"

Responses = dict[int | str, dict[str, Any]]

# A route only some signed-in callers may use: anonymous callers get 401, other roles 403.
SIGNED_IN: tuple[type[DomainError], ...] = (Unauthenticated, Forbidden)


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": {"$ref": PROBLEM_REF}}}}


def errors(*raised: type[DomainError], also: Mapping[int, str] | None = None) -> Responses:
    """The problem+json responses for `raised`, one per status, naming each error's code;
    `also`: answers from another context's use case, in words (this one may not import it)."""
    titles: dict[int, dict[str, list[str]]] = {}
    for error in raised:
        codes = titles.setdefault(error.status, {}).setdefault(error.title, [])
        if error.code not in codes:
            codes.append(error.code)
    said = {
        status: [f"{title} ({', '.join(f'`{c}`' for c in codes)})" for title, codes in by.items()]
        for status, by in titles.items()
    }
    for status, words in (also or {}).items():
        said.setdefault(status, []).append(words)
    return {status: problem_response("; ".join(lines)) for status, lines in sorted(said.items())}


class RouteDocs(TypedDict, total=False):
    """What `documented` gives a route decorator (`APIRouter.get(...)` and the like): only
    keywords those take, so mypy checks each `**documented(...)` against the decorator."""

    operation_id: Required[str]
    summary: Required[str]
    responses: Responses
    status_code: int
    description: str
    response_model: type[BaseModel]


def documented(
    operation_id: str,
    summary: str,
    /,
    *raised: type[DomainError],
    also: Mapping[int, str] | None = None,
    responses: Responses | None = None,
    status_code: int | None = None,
    description: str | None = None,
    response_model: type[BaseModel] | None = None,
) -> RouteDocs:
    """A route's OpenAPI documentation: its stable `operation_id` (camelCase) and `summary`,
    and as its responses `errors(*raised, also=also)`, after any `responses` of its own (a
    success's description or content types). `status_code`, `description` and
    `response_model` are passed on when given."""
    docs = RouteDocs(operation_id=operation_id, summary=summary)
    answers = {**(responses or {}), **errors(*raised, also=also)}
    if answers:
        docs["responses"] = answers
    if status_code is not None:
        docs["status_code"] = status_code
    if description is not None:
        docs["description"] = description
    if response_model is not None:
        docs["response_model"] = response_model
    return docs
