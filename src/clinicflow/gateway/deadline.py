"""Every request has a deadline, and a request whose client has gone stops.

Under contention a request can wait for a lock or a database connection; no caller should
wait 30 s for that. The handler runs as a task of its own: past `CLINICFLOW_REQUEST_DEADLINE_
SECONDS` it is cancelled (its transaction rolls back) and the caller gets 503
`deadline_exceeded` with Retry-After, unless the response had already started. And once the
request's body has been read, the connection is watched: when the client disconnects
before its answer is complete, the handler is cancelled too, so no work is done for nobody
(a booking still queued for a group-commit batch is then skipped, infra/group_commit.py).
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinicflow.gateway.problems import problem
from clinicflow.infra.logging import get_logger

log = get_logger(__name__)


class DeadlineMiddleware:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        if scope["method"] in _READS:
            await self._read(scope, receive, send)
            return
        call = _Call(receive, send)
        handler = asyncio.create_task(_run(self.app, scope, call.receive, call.send))
        watcher = asyncio.create_task(call.client_gone())
        try:
            await asyncio.wait(
                {handler, watcher}, timeout=self.seconds, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:  # the server itself is stopping this request
            handler.cancel()
            raise
        finally:
            watcher.cancel()
        if handler.done():
            handler.result()  # its own exceptions, as if it had run here
            return
        handler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await handler
        if watcher.done() and not watcher.cancelled():
            return  # the client has gone: nobody to answer
        log.warning("request_deadline_passed", seconds=self.seconds, method=scope["method"])
        if not call.started:
            await _too_late(scope, send, self.seconds)

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A read changes nothing, so a client that leaves costs only the answer: it gets the
        deadline alone, as a timer on its own task (the hot cached reads pay a timer, not two
        more tasks)."""
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        timer = asyncio.timeout(self.seconds)
        try:
            async with timer:
                await self.app(scope, receive, watched)
        except TimeoutError:
            if not timer.expired():
                raise  # the handler's own time-out, not the deadline
            log.warning("request_deadline_passed", seconds=self.seconds, method=scope["method"])
            if not started:
                await _too_late(scope, send, self.seconds)


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _run(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    await app(scope, receive, send)


class _Call:
    """The request's channel, seen from both sides: body read, response begun, ended."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._body_read = asyncio.Event()
        self.started = False
        self._complete = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_read.set()
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self._complete = True
        await self._send(message)

    async def client_gone(self) -> None:
        """Returns when the client disconnects before its response is complete."""
        await self._body_read.wait()  # until then the handler owns the channel
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                if not self._complete:
                    return
                await asyncio.Event().wait()  # answered: the handler ends by itself


async def _too_late(scope: Scope, send: Send, seconds: float) -> None:
    response = problem(
        503,
        "deadline_exceeded",
        "Request took too long",
        f"the server could not answer within {seconds:g} s (it is busy); try again in a "
        "moment (a booking sent with the same Idempotency-Key is never made twice)",
        scope["path"],
        retry_after=1,
    )

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)
