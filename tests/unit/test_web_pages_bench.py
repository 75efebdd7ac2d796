"""The web pages benchmark's pieces (benchmarks/web_pages.py): which files a page links, the
bytes counted as sent, the server's times read from its access log, the open times found in
a week's HTML. No timings: the benchmark prints those, a test never judges them."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark's modules are scripts' siblings

import web_pages  # noqa: E402

PAGE = """<!doctype html><html><head>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/site.css?v=1">
<script src="/static/vendor/htmx.min.js?v=1" defer></script>
<script src="/static/site.js?v=1" defer></script>
<script type="application/json" id="chart">{"x": []}</script>
</head><body>
<form class="week">
<button type="submit" name="start" value="2026-12-07T09:00:00-06:00">9:00 AM</button>
<button type="submit" name="start" value="2026-12-07T09:15:00-06:00">9:15 AM</button></form>
<a href="/book?week=2026-12-14" hx-get="/book?week=2026-12-14">Next week</a>
</body></html>"""


def test_the_linked_stylesheets_and_scripts_are_the_pages_assets() -> None:
    assert web_pages.assets_of(PAGE) == [
        "/static/site.css?v=1",
        "/static/vendor/htmx.min.js?v=1",
        "/static/site.js?v=1",
    ]


def test_bytes_are_counted_as_sent_compressed_or_not() -> None:
    # Streams, as a server's answers come: the bytes are read as sent, before any decoding.
    css = b"body { margin: 0; } " * 200

    def answer(request: httpx.Request) -> httpx.Response:
        assert "gzip" in request.headers["accept-encoding"]
        if request.url.path == "/":
            return httpx.Response(200, stream=httpx.ByteStream(PAGE.encode()))
        packed = httpx.ByteStream(gzip.compress(css))
        return httpx.Response(200, stream=packed, headers={"content-encoding": "gzip"})

    with httpx.Client(transport=httpx.MockTransport(answer), base_url="http://t") as client:
        files = web_pages.first_page(client)

    page, *assets = files
    assert (page.encoding, page.wire_bytes, page.body_bytes) == ("identity", len(PAGE), len(PAGE))
    assert page.gzip_bytes < page.body_bytes
    assert len(assets) == 3
    assert all(a.encoding == "gzip" and a.body_bytes == len(css) for a in assets)
    assert all(a.wire_bytes == len(gzip.compress(css)) for a in assets)


def test_a_week_with_its_times_in_the_html_needs_no_fetch() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(PAGE.encode()))

    with httpx.Client(transport=httpx.MockTransport(answer), base_url="http://t") as client:
        assert web_pages.week_is_server_rendered(client) == (2, False)
    waterfall = '<div hx-get="/book/slots" hx-trigger="load"></div>'
    assert web_pages.CLIENT_FETCH.search(waterfall)


def test_server_times_come_from_the_access_log_past_the_warm_up(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    lines = [
        "plain text line from rich",
        json.dumps({"event": "request", "route": "/", "duration_ms": 9.0}),
        json.dumps({"event": "request", "route": "/book", "duration_ms": 4.0}),
        json.dumps({"event": "request", "route": "/", "duration_ms": 1.5}),
        json.dumps({"event": "other", "route": "/", "duration_ms": 99}),
        json.dumps({"event": "request", "route": "/", "duration_ms": 2.5}),
    ]
    log.write_text("\n".join(lines) + "\n")

    assert web_pages.server_durations(log, "/", 1) == [1.5, 2.5]
    assert web_pages.server_durations(log, "/book", 0) == [4.0]


def test_percentiles_are_taken_from_the_sorted_values() -> None:
    values = [float(v) for v in range(1, 11)]
    assert web_pages.percentile(values, 0.9) == 9.0
    assert web_pages.percentile(values, 0.5) in (5.0, 6.0)


def test_the_demo_is_served_from_this_checkout_on_sqlite(tmp_path: Path) -> None:
    env = web_pages.demo_env(tmp_path)
    assert env["CLINICFLOW_DATABASE_URL"].startswith("sqlite+aiosqlite:///")
    assert env["CLINICFLOW_RATE_LIMITS_ENABLED"] == "false"
    assert env["PYTHONPATH"].split(":")[0] == str(ROOT / "src")
    assert web_pages.demo_command(8123)[-3:] == ["demo", "--port", "8123"]
