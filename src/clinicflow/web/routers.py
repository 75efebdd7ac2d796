"""The pages' routers and their static files, as the gateway mounts them (`clinicflow serve
--services web`, or all services)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from clinicflow.web import (
    booking_details,
    booking_site,
    owner_dashboard,
    owner_forecast,
    owner_metrics,
    patient_area,
    patient_records,
    patient_visits,
    paying,
    staff_admin,
    staff_booking,
    staff_calendar,
    staff_console,
    staff_records,
    waitlist_claims,
    waitlist_pages,
)
from clinicflow.web.pages import ENV, STATIC
from clinicflow.web.security import CSP, CsrfRefused

ROUTERS: tuple[APIRouter, ...] = (
    booking_site.router,
    booking_details.router,
    paying.router,
    waitlist_pages.router,
    waitlist_claims.router,
    patient_area.router,
    patient_visits.router,
    patient_records.router,
    staff_console.router,
    staff_calendar.router,
    staff_booking.router,
    staff_records.router,
    staff_admin.router,
    owner_metrics.router,
    owner_forecast.router,
    owner_dashboard.router,
)

# Paths whose forms post `application/x-www-form-urlencoded` (the gateway's body rules).
FORM_PATHS = ("/book/", "/waitlist/", "/sign-in", "/me", "/staff", "/owner")
# The API's paths and the platform's; everything else served is a page.
NOT_PAGES = ("/v1/", "/fhir/", "/.well-known/", "/openapi.json", "/docs", "/healthz", "/readyz")


def is_page(path: str) -> bool:
    return not path.startswith(NOT_PAGES)


class Static(StaticFiles):
    """The vendored and our own browser files. Their URLs carry the files' digest
    (`?v=`), so a browser may keep them for a year."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def cached(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"cache-control", b"public, max-age=31536000, immutable"),
                ]
            await send(message)

        await super().__call__(scope, receive, cached)


async def refused(request: Request, exc: Exception) -> HTMLResponse:
    """A form without its page's token (or with another's): nothing is done. Said plainly,
    with the way out, and without the frame (whose parts need the request's dependencies)."""
    html = ENV.get_template("refused.html").render(path=request.url.path)
    return HTMLResponse(
        html, status_code=403, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
    )


# Our CSS and script and the vendored files are gzipped for browsers that accept it (htmx
# 52 KB → 16 KB). The pages themselves are not: each carries the CSRF token beside text the
# query string puts there, and compressing both together would let a BREACH attacker guess
# the token from the answers' sizes. A page is a few KB; the static files are the bulk.
GZIP_MIN_BYTES = 500


def install(app: FastAPI) -> None:
    static = GZipMiddleware(Static(directory=STATIC), minimum_size=GZIP_MIN_BYTES)
    app.mount("/static", static, name="static")
    app.add_exception_handler(CsrfRefused, refused)
