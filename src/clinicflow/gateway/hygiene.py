"""Request hygiene at the edge, before any route parses anything: body size limits, the body's
content type, and security headers on every response (HSTS when the request came over TLS).

Pure ASGI: it never buffers a body; an over-long one is cut off while it streams in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinicflow.gateway.asgi import HttpMiddleware
from clinicflow.gateway.problems import problem

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),  # answers may carry patient data; a page may override
)
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


@dataclass(frozen=True, slots=True)
class BodyRules:
    max_bytes: int = 1_048_576
    # Paths taking something other than JSON (forms from OAuth clients and vendors) or more
    # bytes than the default (a vendor's batched events).
    content_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max_bytes_for: Mapping[str, int] = field(default_factory=dict)
    # The pages' paths (by prefix): their forms post url-encoded bodies.
    form_prefixes: tuple[str, ...] = ()
    # Other prefixes with bodies of their own (the FHIR API: FHIR JSON and JSON Patch).
    prefix_types: tuple[tuple[str, frozenset[str]], ...] = ()

    def accepts(self, path: str) -> frozenset[str]:
        if path in self.content_types:
            return self.content_types[path]
        if path.startswith(self.form_prefixes):
            return frozenset({FORM})
        for prefix, types in self.prefix_types:
            if path.startswith(prefix):
                return types
        return frozenset({JSON})

    def limit(self, path: str) -> int:
        return self.max_bytes_for.get(path, self.max_bytes)


class HygieneMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, rules: BodyRules) -> None:
        super().__init__(app)
        self.rules = rules

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        path = scope["path"]
        limit = self.rules.limit(path)
        secure = scope.get("scheme") == "https"
        over = False  # the body went past the limit while streaming in

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [h for h in SECURITY_HEADERS if h[0] not in _names(message)]
                message["headers"] = [*message.get("headers", []), *extra]
                if secure:
                    message["headers"].append(HSTS)
            await send(message)

        refusal = _refusal(scope["method"], headers, self.rules.accepts(path), limit)
        if refusal is not None:
            await _problem(send_secured, *refusal, path)
            return
        received = 0

        async def counted() -> Message:
            """Ends the body early once it is too long; the route's answer to the cut-off body
            is then replaced by the 413 below."""
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def send_or_refuse(message: Message) -> None:
            if not over:
                await send_secured(message)
            elif message["type"] == "http.response.start":
                await _problem(send_secured, *_too_large(limit), path)

        await self.app(scope, counted, send_or_refuse)


def _names(message: Message) -> set[bytes]:
    return {name.lower() for name, _ in message.get("headers", [])}


def _refusal(
    method: str, headers: Mapping[bytes, bytes], accepted: frozenset[str], limit: int
) -> tuple[int, str, str, str] | None:
    length = headers.get(b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return _too_large(limit)
    has_body = (length is not None and length not in (b"", b"0")) or b"transfer-encoding" in headers
    if method in ("POST", "PUT", "PATCH") and has_body:
        given = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if given not in accepted:
            wanted = " or ".join(sorted(accepted))
            detail = f"send the body as {wanted} (Content-Type was {given or 'missing'})"
            return 415, "unsupported_media_type", "Unsupported media type", detail
    return None


def _too_large(limit: int) -> tuple[int, str, str, str]:
    detail = f"the body is larger than this route takes ({limit} bytes); send less"
    return 413, "payload_too_large", "Payload too large", detail


async def _problem(send: Send, status: int, code: str, title: str, detail: str, path: str) -> None:
    response = problem(status, code, title, detail, path)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await response({"type": "http"}, nothing, send)
