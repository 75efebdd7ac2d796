"""The server span per request, built from the ASGI instrumentation's public middleware, and
skipped outright when no span would be recorded.

OpenTelemetry's ASGI middleware collects a dozen attributes and wraps every `send` before it
asks whether the span is sampled: about a fifth of a cached answer's time, spent for nothing
on every request while nothing exports (`infra.telemetry`: clinicflow's sampler records no
span then). `ServerSpans` holds the app twice — wrapped in `OpenTelemetryMiddleware` (the
instrumentation's public class, as `FastAPIInstrumentor` builds it) and bare — and sends each
request one way: through the middleware while spans are recorded; otherwise straight to the
app under a non-recording span with the ids the SDK would have given it — the caller's trace
continued from its `traceparent`, or a new trace — so log lines and outbox rows still carry
them. Once the request is routed, its span takes the route's template for a name
("GET /v1/patients/{patient_id}", as the FastAPI instrumentation names it). (Before, the app was
instrumented with `FastAPIInstrumentor` and the stack it built was taken apart again by
attribute names, which leaned on the instrumentation's internals.)
"""

from __future__ import annotations

import random
from collections.abc import Callable

from opentelemetry import context, trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send

_W3C = TraceContextTextMapPropagator()


class ServerSpans:
    def __init__(self, app: ASGIApp, recorded: Callable[[], bool], *, excluded_urls: str) -> None:
        self.untraced = app
        self.recorded = recorded
        self.traced = OpenTelemetryMiddleware(
            self._named, excluded_urls=excluded_urls, exclude_spans=["receive", "send"]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.untraced(scope, receive, send)
            return
        if self.recorded():
            await self.traced(scope, receive, send)
            return
        token = context.attach(trace.set_span_in_context(_unrecorded_span(scope)))
        try:
            await self.untraced(scope, receive, send)
        finally:
            context.detach(token)

    async def _named(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app, inside the server span; once routed, the span takes the route's name."""
        try:
            await self.untraced(scope, receive, send)
        finally:
            path = getattr(scope.get("route"), "path", None)
            if path:
                span = trace.get_current_span()
                span.update_name(f"{scope['method']} {path}")
                span.set_attribute("http.route", path)


def _unrecorded_span(scope: Scope) -> NonRecordingSpan:
    """What the SDK makes for a dropped server span: the parent's trace id (a caller's valid
    traceparent) or a new one, a new span id, not sampled."""
    carrier = {}
    for name, value in scope["headers"]:
        if name in (b"traceparent", b"tracestate"):
            carrier[name.decode("latin-1")] = value.decode("latin-1")
    parent = trace.get_current_span(_W3C.extract(carrier)).get_span_context() if carrier else None
    trace_id = parent.trace_id if parent is not None and parent.is_valid else _nonzero(128)
    state = parent.trace_state if parent is not None and parent.is_valid else None
    return NonRecordingSpan(
        SpanContext(trace_id, _nonzero(64), False, TraceFlags(TraceFlags.DEFAULT), state)
    )


def _nonzero(bits: int) -> int:
    while True:
        value = random.getrandbits(bits)
        if value:
            return value
