"""Tracing without I/O: which exporter the settings choose, what a span may carry out of the
process, consumer spans continuing an event's trace, and trace ids on log lines."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from clinicflow.infra._span_privacy import scrubbed
from clinicflow.infra.bus import Envelope
from clinicflow.infra.telemetry import (
    capture_spans,
    current_traceparent,
    delivery_span,
    otlp_exporter,
    setup_tracing,
    span_processor,
    tracing_mode,
)
from clinicflow.settings import Settings

EMAIL = "pat.example@example.com"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
# Containers built in this process export when the environment says so (OTEL_EXPORTER_*).
without_exporter = pytest.mark.skipif(
    tracing_mode(Settings.model_validate({})) != "off",
    reason="the environment configures an OTLP or console exporter for this process",
)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    with capture_spans(SimpleSpanProcessor(exporter)):
        yield exporter


def envelope(traceparent: str | None = TRACEPARENT) -> Envelope:
    return Envelope(
        event_id="e-1",
        type="booking.created",
        version=1,
        occurred_at=datetime(2026, 11, 24, 15, tzinfo=UTC),
        aggregate_type="booking",
        aggregate_id="b-1",
        payload={"booking_id": "b-1"},
        traceparent=traceparent,
    )


@pytest.mark.parametrize(
    ("tracing", "environ", "expected"),
    [
        ("auto", {}, "off"),
        ("auto", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4317"}, "otlp"),
        ("auto", {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "otlp"),
        ("auto", {"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ("auto", {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"}, "off"),
        ("off", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4317"}, "off"),
        ("otlp", {}, "otlp"),
        ("console", {}, "console"),
        ("otlp", {"OTEL_SDK_DISABLED": "true"}, "off"),
    ],
)
def test_the_tracing_setting_and_the_standard_variables_choose_the_exporter(
    tracing: str, environ: dict[str, str], expected: str
) -> None:
    settings = Settings.model_validate({"tracing": tracing})
    assert tracing_mode(settings, environ) == expected


def test_otlp_speaks_grpc_or_http_as_the_protocol_variable_says() -> None:
    grpc = otlp_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert type(grpc).__module__.startswith("opentelemetry.exporter.otlp.proto.grpc")
    http = otlp_exporter({})
    assert type(http).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
    with pytest.raises(ValueError, match="grpc or http/protobuf"):
        otlp_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    batch = span_processor("otlp", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert isinstance(batch, BatchSpanProcessor)
    batch.shutdown()  # type: ignore[no-untyped-call]
    console = span_processor("console")
    assert isinstance(console, SimpleSpanProcessor)
    assert isinstance(console.span_exporter, ConsoleSpanExporter)


@without_exporter
def test_setting_up_twice_keeps_one_provider_and_adds_no_exporter_when_off() -> None:
    off = Settings.model_validate({"tracing": "off"})
    assert setup_tracing(off) == "off"
    provider = trace.get_tracer_provider()
    assert setup_tracing(off) == "off"
    assert trace.get_tracer_provider() is provider
    with trace.get_tracer("test").start_as_current_span("request") as span:
        context = span.get_span_context()
        # Nothing exports, so nothing is recorded; the ids are there for logs and the outbox.
        assert context.is_valid
        assert not span.is_recording()
        assert current_traceparent() == (
            f"00-{trace.format_trace_id(context.trace_id)}-"
            f"{trace.format_span_id(context.span_id)}-{int(context.trace_flags):02x}"
        )
    assert current_traceparent() is None


@without_exporter
def test_without_an_exporter_a_callers_trace_keeps_its_id_but_nothing_is_recorded() -> None:
    setup_tracing(Settings.model_validate({"tracing": "off"}))
    caller = TraceContextTextMapPropagator().extract({"traceparent": TRACEPARENT})
    with trace.get_tracer("test").start_as_current_span("request", context=caller) as span:
        assert not span.is_recording()
        traceparent = current_traceparent()
    assert traceparent is not None
    assert traceparent.split("-")[1] == TRACEPARENT.split("-")[1]


def test_a_span_loses_query_strings_secrets_and_exception_messages_before_export() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span(
        "GET /v1/patients",
        kind=SpanKind.SERVER,
        attributes={
            "http.url": f"http://clinic.test/v1/patients?email={EMAIL.replace('@', '%40')}",
            "http.target": "/v1/patients?phone=%2B15125550163",
            "url.query": f"email={EMAIL}",
            "http.request.header.authorization": ("Bearer abc",),
            "http.request.header.x_api_key": ("cf_key",),
            "db.statement": "SELECT id FROM patients_patient WHERE email_index = ?",
            "http.route": "/v1/patients",
            "note": f"for {EMAIL}",
        },
        record_exception=False,
    ) as span:
        span.record_exception(ValueError(f"no patient {EMAIL}"))
        span.set_status(Status(StatusCode.ERROR, f"ValueError: no patient {EMAIL}"))
    assert isinstance(span, ReadableSpan)

    clean = scrubbed(span)

    attributes = dict(clean.attributes or {})
    assert attributes["http.url"] == "http://clinic.test/v1/patients"
    assert attributes["http.target"] == "/v1/patients"
    assert "url.query" not in attributes
    assert attributes["http.request.header.authorization"] == "[redacted]"
    assert attributes["http.request.header.x_api_key"] == "[redacted]"
    assert attributes["db.statement"] == "SELECT id FROM patients_patient WHERE email_index = ?"
    assert attributes["http.route"] == "/v1/patients"
    assert clean.status.status_code is StatusCode.ERROR
    assert not clean.status.description
    (event,) = clean.events
    assert dict(event.attributes or {}).keys() <= {"exception.type", "exception.escaped"}
    assert (event.attributes or {})["exception.type"] == "ValueError"
    exported = clean.to_json()
    assert EMAIL not in exported
    assert "%40" not in exported
    assert "15125550163" not in exported
    assert clean.context == span.context
    assert clean.parent == span.parent


def test_a_delivery_is_a_consumer_span_whose_parent_is_the_events_traceparent(
    spans: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("unrelated"), delivery_span(envelope(), "notifications"):
        pass

    (span,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert span.name == "process booking.created"
    assert span.context is not None
    assert span.parent is not None
    assert trace.format_trace_id(span.context.trace_id) == TRACEPARENT.split("-")[1]
    assert trace.format_span_id(span.parent.span_id) == TRACEPARENT.split("-")[2]
    assert span.parent.is_remote
    attributes = dict(span.attributes or {})
    assert attributes["messaging.consumer.group.name"] == "notifications"
    assert attributes["messaging.message.id"] == "e-1"


def test_an_event_without_traceparent_starts_its_own_trace(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("unrelated") as unrelated, delivery_span(envelope(None), "x"):
        pass
    (span,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert span.parent is None
    assert span.context is not None
    assert span.context.trace_id != unrelated.get_span_context().trace_id


def test_a_failing_handler_marks_its_span_by_the_errors_type_only(
    spans: InMemorySpanExporter,
) -> None:
    with pytest.raises(LookupError), delivery_span(envelope(), "mailer"):
        raise LookupError(f"no address for {EMAIL}")
    (span,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "LookupError"
    assert EMAIL not in span.to_json()


def test_lone_client_spans_are_not_sampled_but_requests_are(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("SELECT clinicflow", kind=SpanKind.CLIENT):
        pass  # a polling loop's statement with no request around it
    with (
        tracer.start_as_current_span("GET /v1/services", kind=SpanKind.SERVER),
        tracer.start_as_current_span("SELECT clinicflow", kind=SpanKind.CLIENT),
    ):
        pass
    names = [(s.kind, s.name) for s in spans.get_finished_spans()]
    assert names == [(SpanKind.CLIENT, "SELECT clinicflow"), (SpanKind.SERVER, "GET /v1/services")]


def test_log_lines_inside_a_span_carry_its_ids(log_stream: io.StringIO) -> None:
    log = structlog.get_logger("test")
    with trace.get_tracer("test").start_as_current_span("request") as span:
        log.info("inside", email=EMAIL)
    log.info("outside")

    inside, outside = (json.loads(line) for line in log_stream.getvalue().splitlines())
    context = span.get_span_context()
    assert inside["trace_id"] == trace.format_trace_id(context.trace_id)
    assert inside["span_id"] == trace.format_span_id(context.span_id)
    assert inside["email"] == "[redacted]"
    assert "trace_id" not in outside
