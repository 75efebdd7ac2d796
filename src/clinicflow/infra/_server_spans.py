"""The server span per request, skipped outright when no span would be recorded.

OpenTelemetry's ASGI middleware finds the route, collects a dozen attributes and wraps every
`send` before it asks whether the span is sampled: about a fifth of a cached answer's time,
spent for nothing on every request while nothing exports (`infra.telemetry`: clinicflow's
sampler records no span then). Such a request is served by the same middleware stack minus
that layer, under a non-recording span with the ids the SDK would have given it — the
caller's trace continued from its `traceparent`, or a new trace — so log lines and outbox rows
still carry them. As soon as an exporter is attached (`setup_tracing`, `capture_spans`), every
request goes through the full instrumentation again. Should the instrumentation change the
shape of the stack it builds, every request is simply traced as before: slower, never wrong.
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


def lean_when_unrecorded(traced: ASGIApp, recorded: Callable[[], bool]) -> ASGIApp:
    """`traced` as FastAPIInstrumentor builds it (ServerErrorMiddleware → OpenTelemetry
    middleware → the app's own stack), taking the short way while `recorded()` is false."""
    otel = getattr(traced, "app", None)
    inner = getattr(otel, "app", None)
    if not isinstance(otel, OpenTelemetryMiddleware) or inner is None:
        return traced
    return _ServerSpans(traced, inner, recorded)


class _ServerSpans:
    def __init__(self, traced: ASGIApp, untraced: ASGIApp, recorded: Callable[[], bool]) -> None:
        self.app = self.traced = traced  # `app`: what walks the stack finds OpenTelemetry
        self.untraced = untraced
        self.recorded = recorded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.recorded():
            await self.traced(scope, receive, send)
            return
        token = context.attach(trace.set_span_in_context(_unrecorded_span(scope)))
        try:
            await self.untraced(scope, receive, send)
        finally:
            context.detach(token)


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
