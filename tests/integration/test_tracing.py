"""One trace from an HTTP request, through its SQL and the outbox, to the event handlers; and
no PHI in any span or in the log lines that carry the trace's ids.

Spans are read back from an in-memory exporter attached through the telemetry test hook, so
they are exactly what an OTLP exporter would be given (scrubbed).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id
from sqlalchemy import select, text

from clinicflow.bootstrap import Container, build
from clinicflow.infra.outbox import outbox
from clinicflow.infra.telemetry import capture_spans, instrument_engine, span_processor
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.app import serving
from support.event_bus import on_redis, redis_stream
from support.fake_http import LoopbackServer, Reply, Request
from support.loopback_tls import loopback_tls

# SQL spans come from each database driver's instrumentation.
pytestmark = pytest.mark.both_databases


FIRST, LAST = "Ximena", "Vandersloot"
EMAIL = "ximena.vandersloot@example.net"
PHONE = "+15125550163"
PHI = (FIRST, LAST, EMAIL, "ximena.vandersloot", "%40example.net", "5125550163", "555-0163")
BOOKING = {
    "service": "alternative_medicine",
    "visit_type": "initial",
    "duration": 20,
    "start": "2026-11-25T10:00:00-06:00",
    "practitioner": "doctor1",
    "patient": {"first_name": FIRST, "last_name": LAST, "email": EMAIL, "phone": PHONE},
}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    with capture_spans(SimpleSpanProcessor(exporter)):
        yield exporter


def server_span(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    named = [s for s in found if s.name == name]
    assert len(named) == 1, [s.name for s in found]
    return named[0]


def in_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        s for s in exporter.get_finished_spans() if s.context and s.context.trace_id == trace_id
    ]


def assert_no_phi(spans: list[ReadableSpan]) -> None:
    exported = "\n".join(s.to_json() for s in spans)
    leaked = [value for value in PHI if value.lower() in exported.lower()]
    assert not leaked, f"PHI reached a span: {leaked}\n{exported}"


async def test_a_booking_is_one_trace_from_the_request_through_the_outbox_to_its_handlers(
    client: httpx.AsyncClient, container: Container, spans: InMemorySpanExporter
) -> None:
    made = await client.post("/v1/bookings", json=BOOKING)
    assert made.status_code == 201, made.text

    server = server_span(spans, "POST /v1/bookings")
    assert server.context is not None
    trace_id = server.context.trace_id
    assert server.attributes is not None
    assert server.attributes["clinicflow.request_id"] == made.headers["x-request-id"]
    sql = [s for s in in_trace(spans, trace_id) if s.attributes and "db.system" in s.attributes]
    assert sql, "the request's SQL statements are spans of its trace"
    assert any(s.parent and s.parent.span_id == server.context.span_id for s in sql)
    statements = [str(s.attributes["db.statement"]) for s in sql if s.attributes]
    assert any(st.lstrip().upper().startswith("INSERT INTO BOOKING") for st in statements)

    async with container.db.read() as conn:
        rows = (await conn.execute(select(outbox.c.type, outbox.c.traceparent))).all()
    assert rows
    for event_type, traceparent in rows:
        version, event_trace, _parent_span, flags = traceparent.split("-")
        assert version == "00", event_type  # W3C
        assert int(flags, 16) & 1, event_type  # sampled
        assert event_trace == format_trace_id(trace_id), event_type

    spans.clear()
    assert (await container.bus.run_once()).delivered > 0
    consumers = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert consumers, "each delivery is a consumer span"
    created = rows[0][1].split("-")
    for span in consumers:
        assert span.context is not None
        assert span.parent is not None
        assert span.context.trace_id == trace_id, span.name
        assert span.parent.is_remote
        assert format_span_id(span.parent.span_id) in {tp.split("-")[2] for _, tp in rows}
    names = {s.name for s in consumers}
    assert f"process {rows[0][0]}" in names
    assert {s.attributes["messaging.consumer.group.name"] for s in consumers if s.attributes}
    assert created[1] == format_trace_id(trace_id)
    assert_no_phi(list(spans.get_finished_spans()))


@pytest.fixture
async def worker(settings: Settings, clock: FixedClock) -> AsyncIterator[Container]:
    """A `clinicflow worker` over the same database, reading its own Redis stream."""
    with redis_stream("events", "Redis tests") as stream:
        built = build(on_redis(settings, stream), clock=clock)
        yield built
        await built.aclose()


async def test_the_trace_continues_in_a_worker_that_reads_the_event_from_redis(
    client: httpx.AsyncClient, worker: Container, spans: InMemorySpanExporter
) -> None:
    assert (await client.post("/v1/bookings", json=BOOKING)).status_code == 201
    server = server_span(spans, "POST /v1/bookings")
    assert server.context is not None
    spans.clear()

    done = await worker.bus.run_once()  # relay to the stream, then consume from it

    assert done.delivered > 0
    consumers = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert consumers
    for span in consumers:
        assert span.context is not None
        assert span.parent is not None
        assert span.context.trace_id == server.context.trace_id
        assert span.parent.span_id == server.context.span_id  # the event was recorded there


async def test_the_patient_search_span_keeps_no_query_string(
    client: httpx.AsyncClient, front_desk: dict[str, str], spans: InMemorySpanExporter
) -> None:
    assert (await client.post("/v1/bookings", json=BOOKING)).status_code == 201
    spans.clear()
    for params in ({"email": EMAIL}, {"phone": PHONE}):
        found = await client.get("/v1/patients", params=params, headers=front_desk)
        assert found.status_code == 200

    searches = [
        s
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.SERVER and s.name == "GET /v1/patients"
    ]
    assert len(searches) == 2
    for search in searches:
        attributes: dict[str, Any] = dict(search.attributes or {})
        assert "url.query" not in attributes
        for key in ("http.url", "url.full", "http.target"):
            if key in attributes:
                assert "?" not in attributes[key], (key, attributes[key])
                assert attributes[key].endswith("/v1/patients")
    assert_no_phi(list(spans.get_finished_spans()))  # the SQL spans bind the blind index apart


async def test_a_log_line_written_while_serving_carries_the_request_and_trace_ids_and_no_phi(
    container: Container, log_stream: io.StringIO, spans: InMemorySpanExporter
) -> None:
    options: dict[str, Any] = {"log_config": None, "access_log": False, "log_level": "info"}
    async with (
        serving(container, **options) as base,
        httpx.AsyncClient(verify=loopback_tls(), base_url=base) as http,
    ):
        made = await http.post("/v1/bookings", json=BOOKING, headers={"X-Request-ID": "r-42"})
    assert made.status_code == 201

    lines = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.strip()]
    ours = [line for line in lines if line.get("request_id") == "r-42"]
    assert ours, log_stream.getvalue()
    server = server_span(spans, "POST /v1/bookings")
    assert server.context is not None
    for line in ours:
        assert line["trace_id"] == format_trace_id(server.context.trace_id)
        assert len(line["span_id"]) == 16
    access = [line for line in ours if line["logger"] == "clinicflow.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("POST", "/v1/bookings", 201)
    ]
    leaked = [value for value in PHI if value.lower() in log_stream.getvalue().lower()]
    assert not leaked


async def test_without_an_exporter_requests_still_get_trace_ids_for_logs_and_the_outbox(
    client: httpx.AsyncClient, container: Container
) -> None:
    made = await client.post("/v1/bookings", json=BOOKING)
    assert made.status_code == 201
    async with container.db.read() as conn:
        traceparents = (await conn.execute(select(outbox.c.traceparent))).scalars().all()
    assert traceparents
    assert all(tp and len(tp.split("-")[1]) == 32 for tp in traceparents)
    assert len({tp.split("-")[1] for tp in traceparents}) == 1  # one request, one trace


async def test_without_an_exporter_a_callers_trace_continues_into_the_outbox(
    client: httpx.AsyncClient, container: Container
) -> None:
    """With nothing recording, the request skips the instrumentation's middleware
    (infra/server_spans.py) yet continues the caller's trace, as the SDK would."""
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"}
    made = await client.post("/v1/bookings", json=BOOKING, headers=headers)
    assert made.status_code == 201
    again = await client.post(
        "/v1/bookings", json={**BOOKING, "start": "2026-11-25T11:00:00-06:00"}
    )
    assert again.status_code == 201
    async with container.db.read() as conn:
        query = select(outbox.c.traceparent).order_by(outbox.c.id)
        rows = (await conn.execute(query)).scalars().all()
    traces = [tp.split("-")[1] for tp in rows]
    assert traces[0] == caller_trace
    assert traces[-1] not in (caller_trace, "0" * 32)  # a request without one starts its own
    assert all(tp.split("-")[2] != "00f067aa0ba902b7" for tp in rows)  # a span of its own


async def test_an_engine_is_instrumented_once_however_often_it_is_asked(
    container: Container, spans: InMemorySpanExporter
) -> None:
    instrument_engine(container.db.engine)
    instrument_engine(container.db.engine)
    from opentelemetry import trace

    with trace.get_tracer("test").start_as_current_span("work"):
        async with container.db.read() as conn:
            await conn.execute(text("SELECT 1"))
    statements = [(s.attributes or {}).get("db.statement") for s in spans.get_finished_spans()]
    assert statements.count("SELECT 1") == 1, statements


async def test_spans_reach_an_otlp_collector_scrubbed(
    client: httpx.AsyncClient, front_desk: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[Request] = []

    def collector(request: Request) -> Reply:
        received.append(request)
        return Reply(200, {"Content-Type": "application/x-protobuf"})

    server = LoopbackServer(collector)
    server.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.url)
    processor = span_processor("otlp", {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
    try:
        with capture_spans(processor):
            found = await client.get("/v1/patients", params={"email": EMAIL}, headers=front_desk)
        assert found.status_code == 200
        assert processor.force_flush(5_000)
    finally:
        processor.shutdown()
        server.stop()

    assert received
    assert {r.path for r in received} == {"/v1/traces"}
    exported = ExportTraceServiceRequest()
    for request in received:
        exported.MergeFromString(request.body)
    spans = [s for rs in exported.resource_spans for ss in rs.scope_spans for s in ss.spans]
    search = [s for s in spans if s.name == "GET /v1/patients"]
    assert len(search) == 1
    urls = [a.value.string_value for a in search[0].attributes if a.key == "http.url"]
    assert urls == ["http://clinic.test/v1/patients"]
    services = {
        a.value.string_value
        for rs in exported.resource_spans
        for a in rs.resource.attributes
        if a.key == "service.name"
    }
    assert services  # OTEL_SERVICE_NAME, or "clinicflow"
    wire = b"".join(r.body for r in received)
    assert EMAIL.encode() not in wire
    assert b"%40example.net" not in wire
