"""The HTTP load benchmark's pieces (benchmarks/http_load.py, http_load.lua): parsing wrk's
output, choosing distinct slots, the booking bodies, and what the Lua script sends. No
timings: the benchmark prints those, a test never judges them."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from clinicflow.booking.schemas import BookingIn

ROOT = Path(__file__).resolve().parents[2]
WRK = shutil.which("wrk")
needs_wrk = pytest.mark.skipif(
    WRK is None, reason="wrk not installed (Debian's package: apt-get install wrk)"
)


sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark's modules are scripts' siblings

import load_common  # noqa: E402
import load_report  # noqa: E402
import load_slots  # noqa: E402
import load_wrk  # noqa: E402

WRK_STDOUT = """Running 10s test @ http://127.0.0.1:8000/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    79.57ms   66.76ms 352.93ms   85.87%
    Req/Sec   130.54     64.36   323.00     68.79%
  2600 requests in 10.00s, 39.71MB read
  Non-2xx or 3xx responses: 12
Requests/sec:    260.00
Transfer/sec:      4.91MB
HTTP_LOAD_JSON {"mode": "post", "requests": 2600, "duration_us": 10000000, "bytes": 41640000, \
"errors": {"connect": 0, "read": 1, "write": 0, "status": 12, "timeout": 2}, "latency_us": \
{"min": 900, "mean": 79570.0, "max": 352930, "p50": 61000, "p90": 150000, "p99": 301500}, \
"statuses": {"201": 2586, "409": 12, "200": 2}, "exhausted": false, "sent": 2601}
"""


def test_parses_the_scripts_summary_line() -> None:
    result = load_wrk.parse_wrk_output(WRK_STDOUT)

    assert result.requests == 2600
    assert result.duration_s == 10.0
    assert result.rps == 260.0
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (61.0, 150.0, 301.5)
    assert result.max_ms == pytest.approx(352.93)
    assert result.errors == {"connect": 0, "read": 1, "write": 0, "status": 12, "timeout": 2}
    assert result.socket_errors == 3
    assert result.statuses == {201: 2586, 409: 12, 200: 2}
    assert result.exhausted is False


def test_wrk_output_without_the_script_is_refused() -> None:
    plain = WRK_STDOUT.split("HTTP_LOAD_JSON")[0]
    with pytest.raises(ValueError, match="HTTP_LOAD_JSON"):
        load_wrk.parse_wrk_output(plain)


def _offer(duration: int = 10, before: int = 0, after: int = 5, who: str = "doctor1") -> Any:
    return load_slots.Offer("alternative_medicine", "followup", duration, who, before, after)


def _grid(first: datetime, count: int, step_min: int = 15) -> list[datetime]:
    return [first + timedelta(minutes=step_min * i) for i in range(count)]


def test_picks_starts_whose_blocks_do_not_overlap() -> None:
    nine = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    starts = _grid(nine, 8)  # 09:00 .. 10:45

    # 10 min + 5 after = 15: every start of a 15-min grid fits.
    assert load_slots.pick_distinct(starts, _offer(10, 0, 5)) == starts
    # 15 + 5 = 20: every other one.
    assert load_slots.pick_distinct(starts, _offer(15, 0, 5)) == starts[::2]
    # 15 + 10 after and 15 before: a block of 40 min, so every third start.
    picked = load_slots.pick_distinct(list(reversed(starts)), _offer(15, 15, 10))
    assert picked == [starts[0], starts[3], starts[6]]


def test_pick_distinct_blocks_never_overlap_on_an_irregular_list() -> None:
    nine = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    starts = [nine + timedelta(minutes=m) for m in (0, 5, 17, 20, 41, 42, 60, 61, 95)]
    offer = _offer(15, 5, 10)
    picked = load_slots.pick_distinct(starts, offer)

    blocks = [(s - timedelta(minutes=5), s + timedelta(minutes=15 + 10)) for s in sorted(picked)]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(blocks))
    assert picked[0] == nine


def _plan() -> dict[Any, list[datetime]]:
    nine = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    return {
        _offer(10, 0, 5, "doctor1"): _grid(nine, 4),
        _offer(10, 0, 5, "nurse"): _grid(nine, 2),
        load_slots.Offer("gaps_coaching", "followup", 15, "gaps_coach", 0, 10): _grid(nine, 3, 30),
    }


def test_booking_bodies_are_valid_distinct_and_interleaved() -> None:
    bodies = load_slots.booking_bodies(_plan(), "run1")

    assert len(bodies) == 9
    parsed = [BookingIn.model_validate_json(b) for b in bodies]  # the API's own schema
    assert len({(p.practitioner, p.start) for p in parsed}) == 9
    assert all(p.patient is not None for p in parsed)
    emails = {p.patient.email for p in parsed if p.patient}
    assert len(emails) == 9  # a new patient each: no patient overlaps another visit
    # Round-robin over practitioners, so concurrent requests spread out.
    assert [p.practitioner for p in parsed[:3]] == ["doctor1", "nurse", "gaps_coach"]
    assert all("\n" not in b for b in bodies)  # one line each in the file wrk reads


def test_offers_from_the_clinic_config_name_each_practitioner_once() -> None:
    found = load_slots.offers(ROOT / "config" / "clinic.yaml")

    keys = [o.practitioner for o in found]
    assert keys
    assert len(keys) == len(set(keys))
    from clinicflow.catalog.service import load_catalog

    catalog = load_catalog(ROOT / "config" / "clinic.yaml")
    for offer in found:
        service = catalog.services[offer.service]
        assert service.bookable
        assert offer.practitioner in service.calendars
        durations = [d for vt in service.visit_types.values() for d in vt.durations or ()]
        assert offer.duration == min(durations)


def _row(rps: float, p50: float = 1.0, conns: int = 32) -> Any:
    return load_report.Row("x", rps, p50, p50 * 3, 0, conns)


def test_verdicts() -> None:
    checks = load_report.verdicts(_row(10_000), _row(2_500), _row(20, 99.0, 2), 400.0, 0)
    assert [c.met for c in checks] == [True, True, True]

    checks = load_report.verdicts(
        _row(10_000), _row(2_499), _row(20, 100.0, 2), 400.0, 1, _row(40, 800)
    )
    assert [c.met for c in checks] == [False, False, False]
    assert "1 double bookings" in checks[1].measured
    assert "800 ms at 32 connections" in checks[2].measured
    assert "PASS" not in load_report.render([_row(1.0)], checks)


# --- the Lua script, run by wrk against a recorder on loopback -----------------------------


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str, str]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def log_message(self, *_: Any) -> None:
        pass

    def _reply(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with self.lock:
            self.seen.append(("POST", self.path, body))
        self._reply(201)

    def do_GET(self) -> None:
        with self.lock:
            self.seen.append(("GET", self.path, ""))
        self._reply(200)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # wrk drops its connections when it stops


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    seen: list[tuple[str, str, str]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen, "lock": threading.Lock()})
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()


def _wrk(url: str, env: dict[str, str]) -> Any:
    assert WRK is not None
    done = subprocess.run(
        [WRK, "-t2", "-c4", "-d1s", "-s", str(load_common.LUA), url],
        env={**os.environ, "HTTP_LOAD_THREADS": "2", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return load_wrk.parse_wrk_output(done.stdout)


@needs_wrk
def test_lua_posts_every_booking_body_exactly_once(
    recorder: tuple[str, list[tuple[str, str, str]]], tmp_path: Path
) -> None:
    url, seen = recorder
    bodies = load_slots.booking_bodies(_plan(), "lua")
    file = tmp_path / "bookings.jsonl"
    file.write_text("\n".join(bodies) + "\n")

    result = _wrk(
        url,
        {"HTTP_LOAD_MODE": "post", "HTTP_LOAD_PATH": "/v1/bookings", "HTTP_LOAD_FILE": str(file)},
    )

    posted = [body for method, _, body in seen if method == "POST"]
    assert sorted(posted) == sorted(bodies)  # each once: none lost, none repeated
    assert {path for method, path, _ in seen if method == "POST"} == {"/v1/bookings"}
    assert {path for method, path, _ in seen if method == "GET"} <= {"/healthz"}
    for body in posted:
        BookingIn.model_validate_json(body)
    assert result.exhausted  # 9 slots: the threads ran out and stopped
    assert set(result.statuses) <= {200, 201}
    assert 0 < result.statuses.get(201, 0) <= len(bodies)


@needs_wrk
def test_lua_window_queries_are_all_different(
    recorder: tuple[str, list[tuple[str, str, str]]],
) -> None:
    url, seen = recorder
    start = datetime(2026, 12, 1, tzinfo=UTC)
    result = _wrk(
        url,
        {
            "HTTP_LOAD_MODE": "window",
            "HTTP_LOAD_PATH": "/v1/availability?service=alternative_medicine",
            "HTTP_LOAD_START": str(int(start.timestamp())),
            "HTTP_LOAD_SPAN": "1000000",
            "HTTP_LOAD_DAYS": "60",
        },
    )

    paths = [path for method, path, _ in seen if method == "GET"]
    assert result.requests > 0
    assert len(paths) >= result.requests
    assert len(set(paths)) == len(paths)  # no query repeats: the cache cannot answer one
    for path in paths:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        assert parts.path == "/v1/availability"
        assert query["service"] == ["alternative_medicine"]
        lo = datetime.fromisoformat(query["start"][0])
        hi = datetime.fromisoformat(query["end"][0])
        assert hi - lo == timedelta(days=60)
        assert lo >= start
        assert (lo - start).total_seconds() % 60 == 0


# --- `clinicflow serve --workers N`, which the benchmark starts ---------------------------


def test_serve_with_workers_hands_uvicorn_the_factory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from clinicflow.cli import app
    from clinicflow.gateway import serving

    calls: list[tuple[Any, Any]] = []
    monkeypatch.setattr(serving, "run", lambda config, listening: calls.append((config, listening)))
    monkeypatch.setattr(serving, "sockets", lambda settings, host, port: [])  # bind nothing
    monkeypatch.setattr("clinicflow.infra.logging.configure_logging", lambda *a, **k: None)
    monkeypatch.setenv("CLINICFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLINICFLOW_CONFIG_PATH", str(ROOT / "config" / "clinic.yaml"))
    # serve hands its workers these through the environment; restored after the test.
    monkeypatch.setenv("CLINICFLOW_PUBLIC_URL", "")
    monkeypatch.setenv("CLINICFLOW_SERVICES", "")

    done = CliRunner().invoke(app, ["serve", "--port", "8123", "--workers", "2"])

    assert done.exit_code == 0, done.output
    [(config, _)] = calls
    assert config.app == "clinicflow.gateway.app:app_from_env"
    assert config.factory is True
    assert config.workers == 2
    assert config.port == 8123
    assert config.proxy_headers is False  # no trusted proxy configured: X-Forwarded-For ignored
    assert (tmp_path / "keys.json").exists()  # made once, before the workers start
    assert os.environ["CLINICFLOW_PUBLIC_URL"] == "http://127.0.0.1:8123"  # the workers' links
