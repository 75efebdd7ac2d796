"""How a page is made: the Jinja2 environment, the frame every page shares (who is signed in,
the clinic, the CSRF token, the viewer's time zone), the response headers of a page, and the
route class that lets a page's helpers answer early (`Answered`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2_fragments import render_block

from clinicflow.catalog import Catalog
from clinicflow.catalog.api import CatalogDep
from clinicflow.infra.web import CurrentActor
from clinicflow.shared.actor import Actor
from clinicflow.web.security import CSP, CSRF_FIELD, Csrf, WebKeysDep, csrf_for

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TZ_COOKIE = "cf_tz"  # the viewer's IANA zone, set by static/site.js


def _asset_version() -> str:
    """Changes when any static file does: asset URLs carry it, so they may be cached long."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


ASSET_VERSION = _asset_version()


def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return "to be decided"
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{symbol}{whole:,}.{part:02d}"


def clock_time(at: datetime) -> str:
    """9:15 AM"""
    hour = at.hour % 12 or 12
    return f"{hour}:{at.minute:02d} {'AM' if at.hour < 12 else 'PM'}"


def day_name(at: date) -> str:
    """Mon 7 Dec"""
    return f"{at:%a} {at.day} {at:%b}"


def long_day(at: date) -> str:
    """Monday 7 December 2026"""
    return f"{at:%A} {at.day} {at:%B %Y}"


def zone_label(at: datetime) -> str:
    """The zone's abbreviation at that instant (CST, CDT), or its offset."""
    return at.tzname() or at.strftime("%z")


ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    money=money, clock_time=clock_time, day_name=day_name, long_day=long_day, zone=zone_label
)
ENV.globals.update(asset_version=ASSET_VERSION, csrf_field=CSRF_FIELD)


def viewer_zone(request: Request) -> ZoneInfo | None:
    name = unquote(request.cookies.get(TZ_COOKIE, ""))[:64]
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(slots=True)
class Frame:
    """What every page needs around its own content."""

    request: Request
    actor: Actor
    catalog: Catalog
    csrf: Csrf
    viewer_tz: ZoneInfo | None

    @property
    def clinic_tz(self) -> tzinfo:
        return self.catalog.clinic.tz

    @property
    def other_tz(self) -> ZoneInfo | None:
        """The viewer's zone when it is not the clinic's (times are then shown in both)."""
        tz = self.viewer_tz
        if tz is None or tz.key == str(self.catalog.clinic.timezone):
            return None
        return tz

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def render(
        self,
        template: str,
        context: Mapping[str, object],
        *,
        status: int = 200,
        block: str | None = None,
        csp: str = CSP,
    ) -> HTMLResponse:
        """The page, or only `block` of it when htmx asked (a partial swap)."""
        values = {
            "frame": self,
            "clinic": self.catalog.clinic,
            "actor": self.actor,
            "csrf_token": self.csrf.token,
            "path": self.request.url.path,
            **context,
        }
        if block is not None and self.htmx:
            html = render_block(ENV, template, block, values)
        else:
            html = ENV.get_template(template).render(values)
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = csp
        response.headers["Cache-Control"] = "no-store"  # pages may carry patient data
        response.headers["Vary"] = "Cookie, HX-Request"
        self.csrf.remember(self.request, response)
        return response


async def frame(
    request: Request, actor: CurrentActor, catalog: CatalogDep, keys: WebKeysDep
) -> Frame:
    return Frame(request, actor, catalog, csrf_for(request, keys), viewer_zone(request))


FrameDep = Annotated[Frame, Depends(frame)]


class Answered(Exception):
    """Raised with the response that answers the request now, from a helper deep in a page's
    handler (the sign-in page for a signed-out visitor, the 404 page for another's visit), so
    each handler need not check and return it itself. `PageRoute` sends it."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PageRoute(APIRoute):
    """A page's route: an `Answered` raised while handling the request is the answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Answered as answered:
                return answered.response

        return answer


def page_router() -> APIRouter:
    """A router of pages whose handlers (and their helpers) may answer at once by raising
    `Answered`: kept out of the OpenAPI document, HTML by default."""
    return APIRouter(
        include_in_schema=False, default_response_class=HTMLResponse, route_class=PageRoute
    )
