"""The error answers a route documents in its OpenAPI operation, built from the domain errors
its use case raises: one problem+json response per status, whose description names each
error's stable `code` (what a client branches on).

Declared next to the route, `@router.post(..., responses=errors(SlotUnavailable, ...))`; the
gateway adds the answers every route can give (a bad credential, the rate limit, ...) and the
`Problem` schema the responses point at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
