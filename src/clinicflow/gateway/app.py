"""The HTTP edge: builds the FastAPI app over a wired container."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from starlette.routing import BaseRoute

from clinicflow import __version__
from clinicflow.analytics.api import router as analytics_router
from clinicflow.booking.api import router as booking_router
from clinicflow.bootstrap import Container, build
from clinicflow.calendars.feeds.api import router as practitioner_feeds_router
from clinicflow.calendars.page_bookings.api import router as calendly_router
from clinicflow.calendars.subscriptions.api import router as calendar_notifications_router
from clinicflow.fhir import routers as fhir
from clinicflow.flags.api import router as flags_router
from clinicflow.forecasting.api import router as forecasting_router
from clinicflow.forecasting.demand.api import router as demand_router
from clinicflow.forecasting.scheduling.api import router as schedule_router
from clinicflow.gateway import docs_page, observability, openapi, problems
from clinicflow.gateway.auth import CREDENTIAL_ROUTES, ROUTE_CLASSES, authenticate, body_rules
from clinicflow.gateway.cached_reads import CachedReads, ViewsCounted
from clinicflow.gateway.deadline import DeadlineMiddleware
from clinicflow.gateway.hygiene import HygieneMiddleware
from clinicflow.gateway.observability import (
    Metrics,
    MetricsMiddleware,
    MetricsPort,
    readiness_checks,
)
from clinicflow.gateway.ratelimit import EXEMPT, RateLimiter, RateLimitHeaders, rate_limit
from clinicflow.gateway.request_id import RequestIdMiddleware
from clinicflow.gateway.request_text import RequestTextMiddleware
from clinicflow.identity.api import router as identity_router
from clinicflow.infra.audit_api import router as audit_router
from clinicflow.infra.logging import RequestLogContext
from clinicflow.infra.telemetry import instrument_app
from clinicflow.integrations.api import router as integrations_router
from clinicflow.notifications.callbacks.api import router as provider_webhooks_router
from clinicflow.notifications.messages.api import router as notifications_router
from clinicflow.notifications.push.api import router as push_router
from clinicflow.patients.api import router as patients_router
from clinicflow.payments.api import ROUTERS as PAYMENTS_ROUTERS
from clinicflow.settings import Settings
from clinicflow.waitlist.api import routers as waitlist_routers
from clinicflow.web import routers as web
from clinicflow.webhooks.api import router as webhooks_router

# The seed's services, each a context's routers: `clinicflow serve --services booking,patients`
# mounts only those, so each can run and scale as its own deployment from the one image.
ROUTERS: dict[str, tuple[APIRouter, ...]] = {
    # Calendar change notifications keep the booking service's busy times fresh, Calendly's
    # page bookings become bookings, and practitioners' ICS feeds list them: served with booking.
    "booking": (
        booking_router,
        calendar_notifications_router,
        calendly_router,
        practitioner_feeds_router,
    ),
    # The EHR's patient webhooks and the sync's conflicts are about patient records.
    "patients": (patients_router, audit_router, integrations_router),
    "identity": (identity_router,),
    # Provider webhooks carry the providers' signatures, not our credentials.
    "notifications": (notifications_router, provider_webhooks_router, push_router, webhooks_router),
    "waitlist": waitlist_routers,
    "payments": PAYMENTS_ROUTERS,
    # The pages (booking site, patient area, staff console, dashboard): on the use cases of
    # every context, so a process serving them has them all wired (every process does).
    "web": web.ROUTERS,
    # The FHIR R4 face (/fhir/R4) over booking's and patients' use cases, and its SMART
    # Backend Services token endpoint.
    "fhir": fhir.ROUTERS,
}


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """An app over `container`, or over one built from `settings` (the environment if None)."""
    container = container or build(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # In-process transport: deliver events after each commit and run the periodic jobs
        # here (with Redis, `clinicflow worker` processes do both).
        await container.bus.start()
        if container.bus.in_process:
            container.jobs.start()
        yield
        await container.aclose()

    app = FastAPI(
        title=f"clinicflow — {container.catalog.clinic.name}",
        version=__version__,
        lifespan=lifespan,
        # Every route runs after authentication (a bad credential is a 401 before it), then
        # the caller's rate limit (429): the gateway's own routes here, the contexts' in
        # `_context_routes`.
        dependencies=GATEWAY_DEPENDENCIES,
        # FastAPI's own pages load their scripts from a CDN; /docs serves vendored ones
        # (docs_page). The schema itself is at /openapi.json.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=openapi.operation_id,
        # Spans come from OpenTelemetry's instrumentation (infra.telemetry), which also knows
        # when nothing records; FastAPI's own telemetry would wrap every request a second time.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.provided = container.provided  # what routes reach, by class (infra/web.py)
    app.state.container = container  # for the gateway's own use; routes never read it
    app.state.rate_limiter = RateLimiter.from_settings(container.settings, ROUTE_CLASSES)
    problems.install(app)
    openapi.document(app, CREDENTIAL_ROUTES, EXEMPT)
    if (
        container.availability.cache is not None
        and "booking" in container.settings.enabled_services
    ):
        # Innermost: cached anonymous availability answered before FastAPI routes anything,
        # inside everything below (cached_reads.py).
        app.add_middleware(CachedReads, container=container)
    if "booking" in container.settings.enabled_services:
        # Around the cache, so cached answers count too: per day and service, nothing else.
        app.add_middleware(ViewsCounted, views=container.analytics.views)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(problems.UnhandledErrors)  # logged with the request id bound below
    app.add_middleware(RequestLogContext)  # request_id on log lines: inside RequestIdMiddleware
    app.add_middleware(RequestTextMiddleware)  # NUL in path, query, form: before any route
    app.add_middleware(DeadlineMiddleware, seconds=container.settings.request_deadline_seconds)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(MetricsPort, port=container.settings.metrics_port)
    app.add_middleware(HygieneMiddleware, rules=body_rules(container.settings))
    if container.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=container.settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-API-Key"],
            expose_headers=["X-Request-ID", "RateLimit-Limit", "RateLimit-Remaining"],
            allow_credentials=True,
        )
    metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: times everything
    observability.install(app, container, metrics, readiness_checks(container))
    app.router.routes.extend(_operations_routes())
    instrument_app(app)  # a server span around everything above (OpenTelemetry)
    services = tuple(container.settings.enabled_services)
    # No route may ask for a part nobody provides: refused here, not on a request.
    container.provided.check(route for router in _mounted(services) for route in router.routes)
    app.router.routes.extend(_context_routes(services))

    docs_page.install(app)
    if "web" in container.settings.enabled_services:
        web.install(app)
    else:

        @app.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse("/openapi.json")

    return app


# What every route depends on first: the caller, then the caller's rate limit. Neither holds a
# container (each reads the app's parts from the request), so routes carrying them serve any app.
GATEWAY_DEPENDENCIES = [Depends(authenticate), Depends(rate_limit)]


def _mounted(services: tuple[str, ...]) -> list[APIRouter]:
    # admin: feature flags; analysts: the metrics and forecasts over the lake (reads files
    # only); staff: the models' cached risks: everywhere
    mounted = [flags_router, analytics_router, forecasting_router, demand_router, schedule_router]
    return mounted + [r for name in services for r in ROUTERS[name]]


@functools.cache
def _context_routes(services: tuple[str, ...]) -> tuple[BaseRoute, ...]:
    """The contexts' routers for these services, included once per process behind the
    gateway's dependencies, and shared by every app built over them.

    FastAPI prepares an included router's routes (their dependency trees, their request and
    response models) on the first request that reaches the router, once per inclusion. A
    process serves one app, so there it is the same; but the test suite builds an app over
    each test's container, and preparing the routes again for each was 8% of its CPU
    (py-spy over `python -m pytest`). Included here, an app over another container reuses
    them: nothing in them holds a container, every part is read from the request's app."""
    top = APIRouter(
        dependencies=GATEWAY_DEPENDENCIES, generate_unique_id_function=openapi.operation_id
    )
    for router in _mounted(services):
        top.include_router(router)
    return tuple(top.routes)


@functools.cache
def _operations_routes() -> tuple[BaseRoute, ...]:
    """/healthz, /readyz and /metrics behind the gateway's dependencies, made once per process
    and shared by every app, as the contexts' routes are (`_context_routes`): made for each
    app they were three-quarters of the CPU of `create_app` (FastAPI working out each route's
    dependencies and models again)."""
    top = APIRouter(
        dependencies=GATEWAY_DEPENDENCIES, generate_unique_id_function=openapi.operation_id
    )
    top.include_router(observability.router)
    return tuple(top.routes)


def app_from_env() -> FastAPI:
    """The app over settings from the environment, with logging configured: the factory
    `clinicflow serve --workers N` hands uvicorn, called once in each worker process."""
    from clinicflow.infra.logging import configure_logging

    configure_logging()
    return create_app(Settings())
