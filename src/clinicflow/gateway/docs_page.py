"""/docs: the API reference (Swagger UI over /openapi.json), served from files vendored into
the package (`make vendor`, static/docs/VERSIONS): no CDN at run time, no inline script, so
the page keeps a strict Content-Security-Policy of its own."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

DOCS = "/docs"
STATIC = "/docs/static"
FILES = Path(__file__).parent / "static" / "docs"
# Scripts, styles and the schema from this origin only; Swagger UI's icons are data: URLs.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>clinicflow API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{STATIC}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{STATIC}/swagger-ui-bundle.js"></script>
<script src="{STATIC}/docs.js"></script>
</body></html>"""


async def docs(_: Request) -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": POLICY})


def install(app: FastAPI) -> None:
    """A plain route, like /openapi.json: public, and outside the app's dependencies, so a
    stale session cookie in the browser (a 401 on any API route) does not hide the page."""
    app.add_route(DOCS, docs, methods=["GET"], include_in_schema=False)
    app.mount(STATIC, StaticFiles(directory=FILES), name="docs-static")
