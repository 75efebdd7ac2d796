"""Unstorable text outside JSON bodies, refused at the edge: a NUL character in the path, a query
parameter or a form field (`%00`) answers 422 naming where it was, before any route runs.

JSON bodies are checked by their schema (infra/request_input.RequestModel). Here a lone
surrogate cannot occur: percent-escapes are decoded as UTF-8, which has none, and an invalid
sequence becomes U+FFFD.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from clinicflow.gateway.asgi import HttpMiddleware
from clinicflow.gateway.problems import problem
from clinicflow.infra.request_input import unstorable

FORM = b"application/x-www-form-urlencoded"
NUL_ESCAPE = b"%00"


class RequestTextMiddleware(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = _in_path_or_query(scope)
        if where is None and _is_form(scope):
            body, receive = await _buffered(receive)
            where = _in_pairs(body) if NUL_ESCAPE in body or b"\x00" in body else None
        if where is not None:
            field, why = where
            response = problem(
                422,
                "validation_error",
                "Invalid request",
                f"{field}: {why}",
                scope["path"].replace("\x00", "%00"),
                errors=[{"field": field, "message": why}],
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _in_path_or_query(scope: Scope) -> tuple[str, str] | None:
    if "\x00" in scope["path"]:
        return "path", "contains a NUL character (%00); remove it"
    query: bytes = scope.get("query_string", b"")
    return _in_pairs(query) if NUL_ESCAPE in query else None


def _in_pairs(encoded: bytes) -> tuple[str, str] | None:
    for name, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        for text in (name, value):
            why = unstorable(text)
            if why is not None:
                return (name.replace("\x00", "") or "query"), why
    return None


def _is_form(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == FORM)
    return False


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (forms are small; HygieneMiddleware, outside, caps it), and a receive
    that hands it to the route again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay
