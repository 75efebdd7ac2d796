"""A request id on every request and response (X-Request-ID), for logs and audit rows."""

from __future__ import annotations

import re
import uuid

from starlette.types import Message, Receive, Scope, Send

from clinicflow.gateway.asgi import HttpMiddleware

HEADER = b"x-request-id"
# A caller's id is kept only if it is short and plain, so it cannot smuggle anything into logs.
_SAFE = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope["headers"]).get(HEADER, b"")
        request_id = given if _SAFE.match(given) else uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, request_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)
