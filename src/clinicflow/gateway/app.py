"""The HTTP edge: builds the FastAPI app over a wired container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from clinicflow import __version__
from clinicflow.booking.api import router as booking_router
from clinicflow.bootstrap import Container, build
from clinicflow.gateway import problems
from clinicflow.settings import Settings


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """An app over `container`, or over one built from `settings` (the environment if None)."""
    container = container or build(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await container.aclose()

    app = FastAPI(
        title=f"clinicflow — {container.catalog.clinic.name}",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.container = container
    problems.install(app)
    app.include_router(booking_router)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
