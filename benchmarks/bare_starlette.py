"""The ceiling for benchmarks/http_load.py: the smallest Starlette app, one JSON endpoint.

Served by uvicorn with the same number of worker processes as the platform, on the same
machine and in the same run, so the platform's figures can be read against it:

    python -m uvicorn bare_starlette:app --app-dir benchmarks --workers 2 --no-access-log
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def ping(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/ping", ping)])
