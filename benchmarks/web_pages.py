"""The booking site's first page and its week of times, as a browser gets them from
`clinicflow demo` (SQLite, one process, the demo clinic's data):

* server time: the app's own time per request (its access log's `duration_ms`, from the
  outermost middleware to the last byte handed to uvicorn), median and p90 over `--requests`
  sequential requests of `/` and of a week `/book?…`, after `--warmup` uncounted ones; the
  round trip a keep-alive client on loopback saw is printed beside it;
* transferred bytes of the first page: its HTML and every stylesheet and script it links,
  fetched as a browser does (`Accept-Encoding: gzip, deflate, br`), counted as they came over
  the wire (compressed where the server compressed), against the target of 100 KB;
* that the week's open times are in the HTML as served (buttons naming each start), so
  showing them needs no second request (no waterfall).

Nothing here asserts on time: figures are printed (and written to `--out` as JSON).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_servers import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[1]
HOME = "/"
WEEK = "/book?service=alternative_medicine&visit_type=initial&duration=20"
TARGET_BYTES = 100_000  # "under 100 KB", read strictly
BROWSER_ENCODINGS = "gzip, deflate, br"
ASSET = re.compile(
    r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"|<script[^>]+src="([^"]+)"', re.IGNORECASE
)
SLOT = re.compile(r'<button[^>]+name="start"[^>]+value="([^"]+)"')
# An element that fetches as soon as the page shows (htmx's load/revealed/intersect
# triggers): that would be a second round trip before the times appear. Links and forms that
# fetch when pressed (the next week) are not.
CLIENT_FETCH = re.compile(r'hx-trigger="[^"]*\b(load|revealed|intersect)\b', re.IGNORECASE)


@dataclass(frozen=True)
class Fetched:
    path: str
    wire_bytes: int  # as sent: compressed when content-encoding says so
    body_bytes: int  # after decoding
    encoding: str  # "gzip", or "identity"
    gzip_bytes: int  # what gzip -6 makes of the body (for the files sent uncompressed)


@dataclass(frozen=True)
class Timing:
    path: str
    requests: int
    server_median_ms: float
    server_p90_ms: float
    client_median_ms: float
    client_p90_ms: float


def assets_of(html: str) -> list[str]:
    """The stylesheets and scripts a page links, in page order, once each."""
    found: list[str] = []
    for css, js in ASSET.findall(html):
        url = css or js
        if url and url not in found:
            found.append(url)
    return found


def fetch(client: httpx.Client, path: str) -> tuple[Fetched, str]:
    with client.stream("GET", path, headers={"Accept-Encoding": BROWSER_ENCODINGS}) as answer:
        answer.raise_for_status()
        wire = b"".join(answer.iter_raw())
        encoding = answer.headers.get("content-encoding", "identity")
    body = gzip.decompress(wire) if encoding == "gzip" else wire
    if encoding not in ("gzip", "identity"):
        raise RuntimeError(f"{path}: unexpected content-encoding {encoding}")
    fetched = Fetched(path, len(wire), len(body), encoding, len(gzip.compress(body, 6)))
    return fetched, body.decode("utf-8", errors="replace")


def first_page(client: httpx.Client) -> list[Fetched]:
    page, html = fetch(client, HOME)
    return [page, *(fetch(client, url)[0] for url in assets_of(html))]


def week_is_server_rendered(client: httpx.Client) -> tuple[int, bool]:
    """How many open times the week's HTML holds, and whether it asks for more by itself."""
    _, html = fetch(client, WEEK)
    return len(SLOT.findall(html)), bool(CLIENT_FETCH.search(html))


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return ordered[rank]


def server_durations(log: Path, route: str, skip: int) -> list[float]:
    """The access log's times for `route`, past the first `skip` (the warm-up)."""
    found: list[float] = []
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "request" and entry.get("route") == route:
            found.append(float(entry["duration_ms"]))
    return found[skip:]


def timed(client: httpx.Client, path: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(client: httpx.Client, log: Path, path: str, route: str, n: int, warmup: int) -> Timing:
    before = len(server_durations(log, route, 0))
    timed(client, path, warmup)
    client_ms = timed(client, path, n)
    time.sleep(0.5)  # the access log is written as each answer ends: let the last land
    server_ms = server_durations(log, route, before + warmup)
    if len(server_ms) < n:
        raise RuntimeError(f"{route}: {len(server_ms)} access log lines for {n} requests")
    return Timing(
        path,
        n,
        statistics.median(server_ms[:n]),
        percentile(server_ms[:n], 0.9),
        statistics.median(client_ms),
        percentile(client_ms, 0.9),
    )


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} cores)"


def demo_command(port: int) -> list[str]:
    return [sys.executable, "-m", "clinicflow.cli", "demo", "--port", str(port)]


def demo_env(data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "CLINICFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'demo.sqlite3'}",
        "CLINICFLOW_DATA_DIR": str(data),
        "CLINICFLOW_KEYS_FILE": str(data / "keys.json"),
        "CLINICFLOW_CONFIG_PATH": str(ROOT / "config" / "clinic.yaml"),
        "CLINICFLOW_DEMO_PASSWORD": secrets.token_urlsafe(12),
        # Every request comes from one address: the anonymous tier would answer 429.
        "CLINICFLOW_RATE_LIMITS_ENABLED": "false",
    }


def report(
    transfer: list[Fetched], slots: int, fetches: bool, timings: list[Timing]
) -> dict[str, object]:
    total = sum(f.wire_bytes for f in transfer)
    print(f"web pages benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {load_average()}")
    print("\nfirst page, as a browser gets it (Accept-Encoding: gzip):")
    print(f"  {'file':<48} {'sent':>9} {'encoding':>9} {'body':>9} {'gzip -6':>9}")
    for f in transfer:
        print(
            f"  {f.path.split('?')[0]:<48} {f.wire_bytes:>9,} {f.encoding:>9} "
            f"{f.body_bytes:>9,} {f.gzip_bytes:>9,}"
        )
    verdict = "PASS" if total < TARGET_BYTES else "MISS"
    print(f"  total sent: {total:,} bytes (target < {TARGET_BYTES:,}): {verdict}")
    print(
        f"\nweek page {WEEK}: {slots} open times in the HTML as served; "
        f"{'asks for more by itself' if fetches else 'no client fetch needed to show them'}"
    )
    print(f"\n  {'page':<66} {'n':>4} {'server p50':>11} {'p90':>8} {'client p50':>11} {'p90':>8}")
    for t in timings:
        print(
            f"  {t.path:<66} {t.requests:>4} {t.server_median_ms:>9.2f}ms "
            f"{t.server_p90_ms:>6.2f}ms {t.client_median_ms:>9.2f}ms {t.client_p90_ms:>6.2f}ms"
        )
    return {
        "at": datetime.now(UTC).isoformat(),
        "load": load_average(),
        "first_page": [asdict(f) for f in transfer],
        "first_page_sent_bytes": total,
        "target_bytes": TARGET_BYTES,
        "week_open_times_in_html": slots,
        "week_fetches_by_itself": fetches,
        "timings": [asdict(t) for t in timings],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="uncounted requests first")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="clinicflow-web-bench-") as tmp:
        data = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = data / "server.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                demo_command(port), env=demo_env(data), cwd=data, stdout=sink, stderr=sink
            )
            try:
                wait_ready(f"{base}/healthz", proc, log, workers=1)
                with httpx.Client(base_url=base, timeout=30) as client:
                    transfer = first_page(client)
                    slots, fetches = week_is_server_rendered(client)
                    timings = [
                        measure(client, log, HOME, "/", args.requests, args.warmup),
                        measure(client, log, WEEK, "/book", args.requests, args.warmup),
                    ]
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    figures = report(transfer, slots, fetches, timings)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
