"""/docs: the API reference (Swagger UI over /openapi.json), served from files vendored into
the package (`make vendor`, static/docs/VERSIONS): no CDN at run time, no inline script, so
the page keeps a strict Content-Security-Policy of its own."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

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


def install(app: FastAPI) -> None:
    app.mount(STATIC, StaticFiles(directory=FILES), name="docs-static")

    @app.get(DOCS, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": POLICY})
