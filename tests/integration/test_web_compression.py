"""What the pages send over the wire: the static files (our CSS and script, htmx, uPlot)
gzipped for a browser that accepts it, and cacheable for a year; the pages themselves not
(they carry the CSRF token beside reflected text: BREACH)."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

GZIP = {"Accept-Encoding": "gzip"}


async def _assets(client: httpx.AsyncClient) -> list[str]:
    home = await client.get("/")
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', home.text)


async def test_static_text_files_are_gzipped_when_the_browser_accepts_it(
    client: httpx.AsyncClient,
) -> None:
    assets = await _assets(client)
    assert any(a.startswith("/static/vendor/htmx.min.js") for a in assets)
    for asset in assets:
        async with client.stream("GET", asset, headers=GZIP) as answer:
            wire = b"".join([chunk async for chunk in answer.aiter_raw()])
        assert answer.status_code == 200
        assert answer.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in answer.headers["vary"]
        assert "immutable" in answer.headers["cache-control"]
        plain = (await client.get(asset, headers={"Accept-Encoding": "identity"})).content
        assert gzip.decompress(wire) == plain
        assert len(wire) < len(plain)


@pytest.mark.parametrize("path", ["/", "/owner"])
async def test_pages_are_sent_uncompressed(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path, headers=GZIP)
    assert answer.status_code == 200
    assert "content-encoding" not in answer.headers
