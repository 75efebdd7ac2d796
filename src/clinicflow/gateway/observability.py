"""Operations endpoints and request metrics: `/healthz` (the process is alive), `/readyz` (its
database — and Redis, when used — answer), and Prometheus `/metrics`.

`/metrics` is answered only on its own port (`Settings.metrics_port`), which serves nothing
else, so the API's port — the one an ingress routes — never shows it (`MetricsPort`).

Metric names are a contract with deploy/ (dashboard, alert rules); docs/deployment.md lists
them. Each app has its own registry, so several apps in one process (tests) never mix counts.
Gauges that describe shared state (outbox lag, dead letters, circuits) are read at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import redis.asyncio as aioredis
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinicflow.bootstrap import Container
from clinicflow.gateway.asgi import HttpMiddleware
from clinicflow.gateway.problems import problem
from clinicflow.infra.cache import CacheStats
from clinicflow.infra.error_responses import documented, problem_response
from clinicflow.infra.logging import access_line

log = structlog.get_logger(__name__)

# Seconds; the booking and availability paths sit in the lower buckets.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("route", "method", "status")
        self.requests = Counter(
            "http_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            ("route", "method"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.outbox_unpublished = Gauge(
            "clinicflow_outbox_unpublished",
            "Outbox events not yet published",
            registry=self.registry,
        )
        self.outbox_age = Gauge(
            "clinicflow_outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox event (0 when none)",
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "clinicflow_dead_letters",
            "Deliveries given up after their last retry",
            registry=self.registry,
        )
        self.circuit_open = Gauge(
            "clinicflow_circuit_open",
            "1 while a provider's circuit breaker is open",
            ("provider",),
            registry=self.registry,
        )
        # External calendars (issue 17): read from the sync states at scrape time, so every
        # replica reports the same values (combine with max()).
        self.calendar_age = Gauge(
            "clinicflow_calendar_age_seconds",
            "Age of the oldest answer a calendar source gave for any of its practitioners "
            "(+Inf while one was never synced)",
            ("source",),
            registry=self.registry,
        )
        self.calendar_errors = Gauge(
            "clinicflow_calendar_consecutive_errors",
            "Most failed syncs in a row of a calendar source, over its practitioners",
            ("source",),
            registry=self.registry,
        )
        self.calendar_stale = Gauge(
            "clinicflow_calendar_stale",
            "Practitioners for whom the calendar source is past its staleness budget",
            ("source",),
            registry=self.registry,
        )
        self.calendar_unconfirmed = Gauge(
            "clinicflow_calendar_unconfirmed_practitioners",
            "Practitioners whose every calendar source is stale: their times are not offered",
            registry=self.registry,
        )
        # Counted by the process whose transaction committed them (per process, as every
        # Prometheus counter: rate() and sum() across the replicas add them up).
        self.bookings = Counter(
            "clinicflow_bookings",
            "Bookings created, per clinic service",
            ("service",),
            registry=self.registry,
        )
        self.payments = Counter(
            "clinicflow_payments",
            "Payment outcomes committed (succeeded, failed, canceled, refunded …), by provider",
            ("provider", "status"),
            registry=self.registry,
        )

    async def committed(self, events: Sequence[Any]) -> None:
        """A `Database.on_commit` listener: counts the bookings and payment outcomes a
        transaction wrote to the outbox, once it has committed."""
        for event in events:
            kind = getattr(event, "type", "")
            payload = getattr(event, "payload", {})
            if kind == "booking.created":
                self.bookings.labels(str(payload.get("service"))).inc()
            elif kind.startswith("payment."):
                provider = str(payload.get("provider") or payload.get("method") or "none")
                self.payments.labels(provider, kind.removeprefix("payment.")).inc()

    async def scrape(self, container: Container) -> bytes:
        """The Prometheus text exposition, gauges read now: what `/metrics` answers."""
        await self.refresh(container)
        return generate_latest(self.registry)

    async def refresh(self, container: Container) -> None:
        lag = await container.bus.lag()
        self.outbox_unpublished.set(lag.unpublished)
        self.outbox_age.set(lag.oldest_age.total_seconds() if lag.oldest_age else 0)
        self.dead_letters.set(len(await container.bus.dead_letters()))
        for breaker in getattr(container, "breakers", ()):
            state = await breaker.state()
            self.circuit_open.labels(breaker.name).set(1 if state == "open" else 0)
        await self._calendars(container)

    async def _calendars(self, container: Container) -> None:
        practitioners = await container.calendars.service.status()
        age: dict[str, float] = {}
        errors: dict[str, int] = {}
        stale: dict[str, int] = {}
        for practitioner in practitioners:
            for s in practitioner.sources:
                seconds = s.age.total_seconds() if s.age is not None else float("inf")
                age[s.source] = max(age.get(s.source, 0.0), seconds)
                errors[s.source] = max(errors.get(s.source, 0), s.consecutive_errors)
                stale[s.source] = stale.get(s.source, 0) + int(s.stale)
        for source in age:
            self.calendar_age.labels(source).set(age[source])
            self.calendar_errors.labels(source).set(errors[source])
            self.calendar_stale.labels(source).set(stale[source])
        self.calendar_unconfirmed.set(sum(1 for p in practitioners if not p.confirmed))


class CacheCollector:
    """Cache hits and misses as counters, read from the cache's own tallies at scrape time."""

    def __init__(self, stats: Callable[[], CacheStats | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "clinicflow_cache_requests", "Cache lookups by result", labels=("cache", "result")
        )
        stats = self._stats()
        if stats is not None:
            for result, counts in (("hit", stats.hits), ("miss", stats.misses)):
                for cache, n in counts.items():
                    family.add_metric((cache, result), n)
        yield family


class MetricsMiddleware(HttpMiddleware):
    """Counts and times every HTTP request by its route template (never the raw path, which
    would carry ids and explode the label set), and writes its access log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = [500]

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            took = time.perf_counter() - started
            self.metrics.requests.labels(route, method, str(status[0])).inc()
            self.metrics.latency.labels(route, method).observe(took)
            request_id = scope.get("state", {}).get("request_id")
            access_line(method, route, status[0], took, request_id)


METRICS_PATH = "/metrics"


class MetricsPort:
    """Splits one app between two ports by the port a request arrived on (the ASGI scope's
    `server`): `/metrics` on the metrics port and nothing else there; everything but
    `/metrics` on any other port. Without a metrics port, `/metrics` is answered nowhere."""

    def __init__(self, app: ASGIApp, port: int | None) -> None:
        self.app = app
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            server = scope.get("server") or (None, None)
            on_metrics_port = self.port is not None and server[1] == self.port
            if (scope["path"] == METRICS_PATH) != on_metrics_port:
                response = problem(404, "not_found", "Not Found", "Not Found", scope["path"])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


Check = Callable[[], Awaitable[Any]]


def readiness_checks(container: Container) -> dict[str, Check]:
    settings = container.settings

    async def database() -> None:
        async with container.db.read() as conn:
            await conn.execute(text("SELECT 1"))

    checks: dict[str, Check] = {"database": database}
    if settings.event_transport == "redis" or settings.rate_limit_storage == "redis":

        async def redis_ping() -> None:
            client = aioredis.Redis.from_url(settings.redis_url, socket_timeout=2)
            try:
                await client.ping()
            finally:
                await client.aclose()

        checks["redis"] = redis_ping
    return checks


def install(app: FastAPI, container: Container, metrics: Metrics, checks: dict[str, Check]) -> None:
    """This app's metrics and readiness checks, where `router`'s routes read them."""
    metrics.registry.register(CacheCollector(lambda: container.availability.stats))
    container.db.on_commit(metrics.committed)
    app.state.metrics = metrics  # the registry, for whatever serves it (and for tests)
    app.state.readiness_checks = checks


# The operations routes: the app includes them once per process (gateway/app.py), so they
# hold no app of their own; each reads what `install` put on the request's app.
router = APIRouter(tags=["operations"])


@router.get("/healthz", **documented("healthz", "Liveness: the process answers"))
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    **documented(
        "readyz",
        "Readiness: what the app needs (database, Redis) answers",
        responses={503: problem_response("Not ready (`not_ready`): `failed` names what is not")},
    ),
)
async def readyz(request: Request) -> Response:
    checks: dict[str, Check] = request.app.state.readiness_checks
    failed = await _failing(checks)
    if failed:
        detail = f"not ready: {', '.join(failed)} unreachable; see the logs for why"
        return problem(503, "not_ready", "Not ready", detail, request.url.path, failed=failed)
    return JSONResponse({"status": "ready", "checks": sorted(checks)})


@router.get(METRICS_PATH, include_in_schema=False)
async def prometheus(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    container: Container = request.app.state.container
    return Response(await metrics.scrape(container), media_type=CONTENT_TYPE_LATEST)


async def _failing(checks: dict[str, Check]) -> Sequence[str]:
    failed = []
    for name, check in checks.items():
        try:
            await check()
        except Exception as exc:  # any failure means not ready; only the type is logged
            log.warning("readiness_check_failed", check=name, error=type(exc).__name__)
            failed.append(name)
    return failed
