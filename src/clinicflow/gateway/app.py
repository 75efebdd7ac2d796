"""The HTTP edge: builds the FastAPI app over a wired container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse

from clinicflow import __version__
from clinicflow.booking.api import router as booking_router
from clinicflow.bootstrap import Container, build
from clinicflow.gateway import problems
from clinicflow.gateway.auth import authenticate
from clinicflow.gateway.request_id import RequestIdMiddleware
from clinicflow.identity.api import router as identity_router
from clinicflow.infra.audit_api import router as audit_router
from clinicflow.notifications.api import router as notifications_router
from clinicflow.patients.api import router as patients_router
from clinicflow.settings import Settings


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """An app over `container`, or over one built from `settings` (the environment if None)."""
    container = container or build(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # In-process transport: deliver events after each commit (a no-op with Redis, where
        # `clinicflow worker` processes do it).
        await container.bus.start()
        yield
        await container.aclose()

    app = FastAPI(
        title=f"clinicflow — {container.catalog.clinic.name}",
        version=__version__,
        lifespan=lifespan,
        # Every route runs after authentication; a bad credential is a 401 before it.
        dependencies=[Depends(authenticate)],
    )
    app.state.container = container
    problems.install(app)
    app.add_middleware(RequestIdMiddleware)
    routers = (booking_router, patients_router, identity_router, notifications_router, audit_router)
    for router in routers:
        app.include_router(router)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
