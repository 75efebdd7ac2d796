"""A span per SQL statement, through SQLAlchemy's public cursor events, only when recorded.

The maintained SQLAlchemy instrumentation builds a statement's attributes (from the URL and
the driver's connection) before it asks whether the span would be sampled: ~30 µs a
statement spent for nothing on every request that is not traced — all of them while nothing
exports — and it offers no hook to ask first. Overriding its private `_before_cur_exec` did
ask first, but leaned on the library's internals. These listeners are SQLAlchemy's own
documented events (`before_cursor_execute`, `after_cursor_execute`, `handle_error`) and
OpenTelemetry's public tracer API: when the current span is not recording (under clinicflow's
sampler, a child of it never is) a statement costs one check; otherwise it gets a CLIENT
span named by its first word, with the database semantic conventions' attributes the
instrumentation sets (`db.system`, `db.name`, `db.statement` with placeholders — bound
values are never recorded — `net.peer.name`, `net.peer.port`).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext

from clinicflow import __version__

_SYSTEMS = {"postgresql": "postgresql", "sqlite": "sqlite"}
_SPAN = "_clinicflow_sql_span"  # where a statement's span waits for the statement's end


def trace_statements(engine: Engine) -> None:
    """Listen on `engine` (once: the caller keeps track) for its statements."""
    tracer = trace.get_tracer("clinicflow.sql", __version__)
    url = engine.url
    base: dict[str, AttributeValue] = {
        "db.system": _SYSTEMS.get(engine.dialect.name, engine.dialect.name)
    }
    if url.database:
        base["db.name"] = url.database
    if url.host:
        base["net.peer.name"] = url.host
    if url.port:
        base["net.peer.port"] = url.port

    def before(
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: object,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        if context is None or not trace.get_current_span().is_recording():
            return
        words = statement.split(None, 1)
        span = tracer.start_span(
            words[0].upper() if words else base["db.system"].__str__(),
            kind=SpanKind.CLIENT,
            attributes={**base, "db.statement": statement},
        )
        setattr(context, _SPAN, span)

    def after(
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: object,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        span = getattr(context, _SPAN, None)
        if span is not None:
            span.end()

    def failed(error: ExceptionContext) -> None:
        span = getattr(error.execution_context, _SPAN, None)
        if span is not None:
            # The type only: a driver's message may quote the values that were bound.
            span.set_status(Status(StatusCode.ERROR, type(error.original_exception).__name__))
            span.end()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
