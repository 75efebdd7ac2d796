"""OpenTelemetry traces: one trace from an HTTP request, through the outbox, to the worker.

The composition root calls `setup_tracing` (every process builds its container through it:
`clinicflow serve`, `clinicflow worker`, the CLI), then `instrument_engine` and
`instrument_http_client`; `create_app` calls `instrument_app`. Spans come from the maintained
ASGI and httpx instrumentations, from SQLAlchemy's cursor events (`infra.sql_spans`), and
from `delivery_span` around each subscriber's `handle`, whose parent is the `traceparent`
that `current_traceparent` wrote into the event's outbox row. docs/observability.md has the
whole picture.

CLINICFLOW_TRACING picks the exporter: `auto` (the default) exports by OTLP when the standard
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER) says so — as deploy/ sets it — and
exports nothing otherwise; `off`, `otlp` and `console` force one. A tracer provider is
installed in every mode: with nothing to export it records no span (each costs an id and no
more), yet requests and deliveries still have trace ids — a caller's `traceparent` continued —
for their log lines and outbox rows.

Setup is idempotent: tests build many containers and apps in one process, and OpenTelemetry
allows one global provider. Every span is scrubbed of PHI before any exporter sees it
(infra/_span_privacy.py).
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes, AttributeValue

from clinicflow import __version__
from clinicflow.infra._span_privacy import scrubbed
from clinicflow.infra.bus import Envelope
from clinicflow.infra.logging import get_logger
from clinicflow.settings import Settings

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

log = get_logger(__name__)

Mode = Literal["off", "otlp", "console"]
# Probes and scrapes: frequent, and nothing to learn from their spans.
UNTRACED_URLS = "/healthz$,/readyz$,/metrics$"
# OTEL_TRACES_EXPORTER's values that clinicflow knows (others: the endpoint decides).
_EXPORTERS: dict[str, Mode] = {"none": "off", "otlp": "otlp", "console": "console"}
# The outbox column holds a W3C traceparent, whatever OTEL_PROPAGATORS says for HTTP.
_W3C = TraceContextTextMapPropagator()


def tracing_mode(settings: Settings, environ: Mapping[str, str] | None = None) -> Mode:
    """What `settings.tracing` means in this environment (see the module's docstring)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return "off"
    if settings.tracing != "auto":
        return settings.tracing
    chosen = env.get("OTEL_TRACES_EXPORTER", "").split(",")[0].strip().lower()
    if chosen in _EXPORTERS:
        return _EXPORTERS[chosen]
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return "otlp" if endpoint else "off"


def setup_tracing(settings: Settings, environ: Mapping[str, str] | None = None) -> Mode:
    """Install this process's tracer provider (once) and the exporter the settings ask for
    (once per kind); return the mode in force. No connection is opened here: exporters
    connect when they first send."""
    env = os.environ if environ is None else environ
    mode = tracing_mode(settings, env)
    with _lock:
        state = _install(settings.tracing_sample_ratio)
        if mode != "off" and mode not in state.attached:
            processor = span_processor(mode, env)
            state.exporting.add(processor)
            state.attached[mode] = processor
    return mode


def span_processor(mode: Mode, environ: Mapping[str, str] | None = None) -> SpanProcessor:
    if mode == "console":  # development: each span printed as it ends
        return SimpleSpanProcessor(ConsoleSpanExporter())
    return BatchSpanProcessor(otlp_exporter(environ))


def otlp_exporter(environ: Mapping[str, str] | None = None) -> SpanExporter:
    """The OTLP exporter for OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL (http/protobuf by default,
    as the specification says). Endpoint, headers, TLS and timeouts come from the standard
    OTEL_EXPORTER_OTLP_* variables, read by the exporter itself."""
    env = os.environ if environ is None else environ
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        return HttpSpanExporter()
    raise ValueError(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: use grpc or http/protobuf"
    )


def instrument_engine(engine: AsyncEngine) -> None:
    """A span per SQL statement on this engine (once per engine) while spans are recorded
    (`infra.sql_spans`). The statement's text is recorded with its placeholders; the bound
    parameters never are."""
    from clinicflow.infra.sql_spans import trace_statements

    sync = engine.sync_engine
    with _lock:
        if sync in _engines:
            return
        _engines.add(sync)
    trace_statements(sync)


def instrument_http_client(client: httpx.AsyncClient) -> None:
    """A client span per provider call, and `traceparent` sent along (once per client)."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    if not getattr(client, "_is_instrumented_by_opentelemetry", False):
        HTTPXClientInstrumentor.instrument_client(client)


def instrument_app(app: FastAPI) -> None:
    """A server span per request (probes and scrapes left out) while spans are recorded
    (`infra.server_spans`); once per app."""
    from clinicflow.infra.server_spans import ServerSpans

    if getattr(app.state, "clinicflow_traced", False):
        return
    app.state.clinicflow_traced = True
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: ServerSpans(  # type: ignore[method-assign]
        build(), spans_recorded, excluded_urls=UNTRACED_URLS
    )


def spans_recorded() -> bool:
    """Whether a span started now may be recorded: an exporter is attached to clinicflow's
    provider, or the provider is someone else's (their sampler decides)."""
    return not _state or not _state[0].own_provider or _state[0].exporting.active


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, for an event's outbox row."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def delivery_span(event: Envelope, subscriber: str) -> Iterator[None]:
    """A CONSUMER span around one subscriber's handling of one event, continuing the trace
    of the request (or job) that recorded it. Errors are marked by type only: exception
    messages may quote PHI."""
    parent = Context()  # never the caller's current span: the event's own trace, or a new one
    if event.traceparent:
        parent = _W3C.extract({"traceparent": event.traceparent}, parent)
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "clinicflow",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.destination.name": event.type,
        "messaging.consumer.group.name": subscriber,
        "messaging.message.id": event.event_id,
        "clinicflow.event.version": event.version,
        "clinicflow.aggregate.type": event.aggregate_type,
        "clinicflow.aggregate.id": event.aggregate_id,
    }
    with _events_tracer().start_as_current_span(
        f"process {event.type}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR))
            span.set_attribute("error.type", type(exc).__qualname__)
            raise


@contextmanager
def capture_spans(processor: SpanProcessor) -> Iterator[None]:
    """The test hook: every finished span goes to `processor` too (scrubbed, as exporters get
    it) while the block runs, e.g. SimpleSpanProcessor(InMemorySpanExporter()). While any
    processor is attached, new traces are sampled, not only given ids."""
    with _lock:
        state = _install(1.0)
    state.exporting.add(processor)
    try:
        yield
    finally:
        state.exporting.remove(processor)


@functools.cache
def _events_tracer() -> trace.Tracer:
    return trace.get_tracer("clinicflow.events", __version__)


class _Exporting(SpanProcessor):
    """The one processor on the provider: fans finished spans, scrubbed, out to the exporters'
    processors. They can be added and removed (the SDK's provider only adds)."""

    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()
        self._change = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._processors)

    def add(self, processor: SpanProcessor) -> None:
        with self._change:
            self._processors = (*self._processors, processor)

    def remove(self, processor: SpanProcessor) -> None:
        with self._change:
            self._processors = tuple(p for p in self._processors if p is not processor)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self._processors:
            processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        processors = self._processors
        if not processors or span.context is None or not span.context.trace_flags.sampled:
            return
        clean = scrubbed(span)
        for processor in processors:
            processor.on_end(clean)

    def shutdown(self) -> None:
        for processor in self._processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all([p.force_flush(timeout_millis) for p in self._processors])


class _Gate(Sampler):
    """A sampler that drops what `_drops` says and leaves the rest to `then`."""

    def __init__(self, then: Sampler) -> None:
        self._then = then

    def _drops(
        self, parent_context: Context | None, kind: SpanKind | None
    ) -> SamplingResult | None:
        raise NotImplementedError

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        dropped = self._drops(parent_context, kind)
        if dropped is not None:
            return dropped
        return self._then.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )


class _Sampling(_Gate):
    """Nothing is recorded while nothing exports (the span keeps its ids: logs and the outbox
    need them); otherwise a span follows its parent's decision, and a trace's first span is
    sampled by `_Root`."""

    def __init__(self, exporting: _Exporting, ratio: float) -> None:
        super().__init__(ParentBased(_Root(ratio)))
        self._exporting = exporting

    def _drops(
        self, parent_context: Context | None, kind: SpanKind | None
    ) -> SamplingResult | None:
        if self._exporting.active:
            return None
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.DROP, None, parent.trace_state)

    def get_description(self) -> str:
        return "ClinicflowSampling"


class _Root(_Gate):
    """The first span of a trace: by ratio, but never a client span on its own — a periodic
    job's or a polling loop's SQL statement with no request or event delivery around it."""

    def __init__(self, ratio: float) -> None:
        super().__init__(TraceIdRatioBased(ratio))

    def _drops(
        self, parent_context: Context | None, kind: SpanKind | None
    ) -> SamplingResult | None:
        return SamplingResult(Decision.DROP) if kind is SpanKind.CLIENT else None

    def get_description(self) -> str:
        return f"ClinicflowRoot{{{self._then.get_description()}}}"


@dataclass
class _Tracing:
    exporting: _Exporting
    own_provider: bool = True  # the SDK provider with clinicflow's sampler
    attached: dict[str, SpanProcessor] = field(default_factory=dict)


_lock = threading.Lock()
_state: list[_Tracing] = []  # at most one: this process's
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _install(ratio: float) -> _Tracing:
    """The process's tracing state, the global provider installed on first use (under _lock)."""
    if _state:
        return _state[0]
    exporting = _Exporting()
    current = trace.get_tracer_provider()
    if isinstance(current, trace.ProxyTracerProvider):
        provider = TracerProvider(sampler=_Sampling(exporting, ratio), resource=_resource())
        provider.add_span_processor(exporting)
        trace.set_tracer_provider(provider)
    elif isinstance(current, TracerProvider):
        # Someone installed an SDK provider first (opentelemetry-instrument): ours exports
        # through it, scrubbed; whatever it exports by itself is its owner's choice.
        log.warning(
            "foreign_tracer_provider",
            consequence="spans its own processors export are not scrubbed of PHI",
        )
        current.add_span_processor(exporting)
    else:
        log.warning(
            "tracer_provider_not_the_sdks",
            provider=type(current).__name__,
            consequence="clinicflow exports no spans",
        )
    _state.append(_Tracing(exporting, own_provider=isinstance(current, trace.ProxyTracerProvider)))
    return _state[0]


def _resource() -> Resource:
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read here; "clinicflow" when unnamed.
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "clinicflow"}))
    return resource
