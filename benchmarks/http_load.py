"""HTTP load benchmark: the platform on PostgreSQL with 2 worker processes, driven by wrk.

Run from the repository root (needs PostgreSQL, Redis and Debian's `wrk`):

    python benchmarks/http_load.py [--duration 10] [--connections 32] [--out figures.json]

In one run, against servers it starts itself on this machine: a bare Starlette endpoint
(the ceiling), cached availability, uncached 60-day availability (any practitioner) and
booking creation of distinct slots. It prints requests/s, p50 and p99 per scenario and the
verdict on each target (PASS/MISS, printed, never asserted), then checks in SQL that no
practitioner was double-booked. benchmarks/README.md explains the set-up and the choices.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "http_load.lua"
MARKER = "HTTP_LOAD_JSON "
DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Statuses whose rows occupy a practitioner's time (clinicflow.booking.tables.OCCUPYING).
OCCUPYING = ("held", "confirmed", "checked_in", "completed", "no_show")
# The availability query every availability scenario asks: a booking page's question.
AVAILABILITY_QUERY = "service=alternative_medicine&visit_type=initial&duration=15"

# Targets (issue 7, item 9).
CACHED_SHARE_OF_BARE = 0.25
BOOKINGS_PER_SECOND = 400.0
UNCACHED_P50_MS = 100.0


# --- wrk's output -------------------------------------------------------------------------


@dataclass
class WrkResult:
    """One wrk run, from the line http_load.lua's done() prints."""

    requests: int
    duration_s: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    exhausted: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(n for kind, n in self.errors.items() if kind != "status")


def parse_wrk_output(text: str) -> WrkResult:
    """The figures from wrk's stdout; the script's JSON line carries them exactly."""
    for line in text.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise ValueError("no HTTP_LOAD_JSON line in wrk's output (was http_load.lua used?)")
    lat = data["latency_us"]
    return WrkResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        errors={k: int(v) for k, v in data["errors"].items()},
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        mean_ms=lat["mean"] / 1000,
        max_ms=lat["max"] / 1000,
        statuses={int(k): int(v) for k, v in data.get("statuses", {}).items()},
        exhausted=bool(data.get("exhausted", False)),
    )


def run_wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int,
    env: Mapping[str, str] | None = None,
    wrk: str = "wrk",
) -> WrkResult:
    seconds = max(1, round(duration))
    threads = max(1, min(threads, connections))
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        url,
    ]
    full_env = {**os.environ, "HTTP_LOAD_THREADS": str(threads), **(env or {})}
    done = subprocess.run(
        cmd, env=full_env, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk_output(done.stdout)


# --- distinct slots to book ---------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """What one practitioner is booked for in the run: the shortest visit of a service."""

    service: str
    visit_type: str
    duration: int
    practitioner: str
    buffer_before: int
    buffer_after: int


def pick_distinct(starts: Sequence[datetime], offer: Offer) -> list[datetime]:
    """Starts whose occupied blocks (buffers included) do not overlap one another, greedily
    from the earliest: every one of them can be booked in the same run."""
    chosen: list[datetime] = []
    free_from: datetime | None = None
    before = timedelta(minutes=offer.buffer_before)
    length = timedelta(minutes=offer.duration + offer.buffer_after)
    for start in sorted(starts):
        if free_from is None or start - before >= free_from:
            chosen.append(start)
            free_from = start + length
    return chosen


def booking_bodies(plan: Mapping[Offer, Sequence[datetime]], run_id: str) -> list[str]:
    """One JSON body per slot, a new patient each (an anonymous booking page), interleaved
    across practitioners so concurrent requests spread over their calendars."""
    queues = [
        [(offer, start) for start in starts] for offer, starts in plan.items() if len(starts) > 0
    ]
    bodies: list[str] = []
    depth = max((len(q) for q in queues), default=0)
    for i in range(depth):
        for queue in queues:
            if i < len(queue):
                offer, start = queue[i]
                n = len(bodies)
                body = {
                    "service": offer.service,
                    "visit_type": offer.visit_type,
                    "duration": offer.duration,
                    "start": start.isoformat(),
                    "practitioner": offer.practitioner,
                    "patient": {
                        "first_name": "Bench",
                        "last_name": f"Patient {n}",
                        "email": f"bench-{run_id}-{n}@example.com",
                    },
                }
                bodies.append(json.dumps(body, separators=(",", ":")))
    return bodies


def offers(config_path: Path) -> list[Offer]:
    """Each practitioner once, for the first bookable service offering them, with that
    service's shortest visit (the most distinct slots per day)."""
    sys.path.insert(1, str(ROOT / "src"))
    from clinicflow.catalog.loader import load_catalog

    catalog = load_catalog(config_path)
    found: dict[str, Offer] = {}
    for service in catalog.services.values():
        if not service.bookable:
            continue
        duration, visit_type = min(
            (d, vt.key) for vt in service.visit_types.values() for d in vt.durations or ()
        )
        for key in service.calendars:
            found.setdefault(
                key,
                Offer(
                    service.key,
                    visit_type,
                    duration,
                    key,
                    service.policy.buffer_before_min,
                    service.policy.buffer_after_min,
                ),
            )
    return list(found.values())


def free_slots(
    base: str, offer_list: Sequence[Offer], today: date, days: int
) -> dict[Offer, list[datetime]]:
    """Every practitioner's distinct bookable starts from tomorrow on, from the API itself."""
    import httpx

    plan: dict[Offer, list[datetime]] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for offer in offer_list:
            response = client.get(
                "/v1/availability",
                params={
                    "service": offer.service,
                    "visit_type": offer.visit_type,
                    "duration": offer.duration,
                    "practitioner": offer.practitioner,
                    "start": (today + timedelta(days=1)).isoformat(),
                    "end": (today + timedelta(days=days)).isoformat(),
                },
            )
            response.raise_for_status()
            starts = [datetime.fromisoformat(s["start"]) for s in response.json()["slots"]]
            plan[offer] = pick_distinct(starts, offer)
    return plan


# --- verdicts -----------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    connections: int
    note: str = ""


@dataclass
class Verdict:
    target: str
    met: bool
    measured: str


def verdicts(
    bare: Row,
    cached: Row,
    uncached: Row,
    bookings_per_s: float,
    double_bookings: int,
    uncached_loaded: Row | None = None,
) -> list[Verdict]:
    """The targets, judged; the p50 target on `uncached` (one connection per worker: the
    time a request takes, not the queue before it), the loaded run's p50 shown beside."""
    share = cached.rps / bare.rps if bare.rps else 0.0
    loaded = (
        f"; {uncached_loaded.p50_ms:.0f} ms at {uncached_loaded.connections} connections"
        if uncached_loaded
        else ""
    )
    return [
        Verdict(
            f"cached availability >= {CACHED_SHARE_OF_BARE:.0%} of the bare endpoint",
            share >= CACHED_SHARE_OF_BARE,
            f"{share:.1%} ({cached.rps:,.0f} vs {bare.rps:,.0f} req/s)",
        ),
        Verdict(
            f">= {BOOKINGS_PER_SECOND:.0f} bookings/s with zero double bookings",
            bookings_per_s >= BOOKINGS_PER_SECOND and double_bookings == 0,
            f"{bookings_per_s:,.0f} bookings/s, {double_bookings} double bookings",
        ),
        Verdict(
            f"uncached 60-day availability p50 < {UNCACHED_P50_MS:.0f} ms",
            uncached.p50_ms < UNCACHED_P50_MS,
            f"p50 {uncached.p50_ms:.1f} ms at {uncached.connections} connections{loaded}",
        ),
    ]


def render(rows: Sequence[Row], checks: Sequence[Verdict]) -> str:
    lines = [
        f"{'scenario':<40} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}",
    ]
    for r in rows:
        lines.append(
            f"{r.scenario:<40} {r.connections:>5} {r.rps:>9,.1f} {r.p50_ms:>8.1f} "
            f"{r.p99_ms:>8.1f} {r.errors:>7}" + (f"  {r.note}" if r.note else "")
        )
    lines.append("")
    for c in checks:
        lines.append(f"{'PASS' if c.met else 'MISS'}  {c.target}: {c.measured}")
    return "\n".join(lines)


# --- processes and databases --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


STARTED = "Application startup complete"


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, workers: int, timeout: float = 120
) -> None:
    """Until `url` answers 200 and every worker process has logged its startup: one worker
    up is not the 2 the figures are for."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{_tail(log)}")
        try:
            answered = httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            answered = False
        if answered and log.read_text(errors="replace").count(STARTED) >= workers:
            return
        time.sleep(0.3)
    raise RuntimeError(f"server not ready at {url} after {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def server(
    cmd: Sequence[str], env: Mapping[str, str], ready_url: str, log: Path, workers: int
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process group, stopped (SIGTERM, then SIGKILL) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(cmd),
            env=dict(env),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(ready_url, proc, log, workers)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(dsn))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def db_url(admin_dsn: str, name: str) -> str:
    head, _, _ = _asyncpg_dsn(admin_dsn).rpartition("/")
    return f"{head}/{name}"


@dataclass
class BookingAudit:
    by_status: dict[str, int]
    double_bookings: int
    first_created: datetime | None
    last_created: datetime | None

    @property
    def confirmed(self) -> int:
        return self.by_status.get("confirmed", 0)

    @property
    def span_s(self) -> float:
        if self.first_created is None or self.last_created is None:
            return 0.0
        return (self.last_created - self.first_created).total_seconds()


# Two occupying rows of one practitioner whose blocks (buffers included) overlap.
DOUBLE_BOOKINGS_SQL = """
SELECT count(*) FROM booking_appointment a
JOIN booking_appointment b
  ON a.practitioner = b.practitioner AND a.id < b.id
 AND tstzrange(a.block_start, a.block_end) && tstzrange(b.block_start, b.block_end)
WHERE a.status = ANY($1::text[]) AND b.status = ANY($1::text[])
"""


async def audit_bookings(url: str) -> BookingAudit:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM booking_appointment GROUP BY status"
        )
        doubles = await conn.fetchval(DOUBLE_BOOKINGS_SQL, list(OCCUPYING))
        first, last = await conn.fetchrow(
            "SELECT min(created_at), max(created_at) FROM booking_appointment"
            " WHERE status = 'confirmed'"
        )
    finally:
        await conn.close()
    return BookingAudit({r["status"]: int(r["n"]) for r in rows}, int(doubles), first, last)


def drop_redis_keys(redis_url: str, prefixes: Sequence[str]) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    removed = 0
    try:
        for prefix in prefixes:
            batch: list[bytes] = []
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    removed += int(client.delete(*batch))
                    batch.clear()
            if batch:
                removed += int(client.delete(*batch))
    finally:
        client.close()
    return removed


# --- the run ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=10, help="seconds per scenario (10)")
    ap.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per GET scenario")
    ap.add_argument("--connections", type=int, default=32, help="open connections (32)")
    ap.add_argument(
        "--uncached-connections",
        type=int,
        default=None,
        help="connections for the second, latency run of uncached availability "
        "(default: one per server worker)",
    )
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    ap.add_argument("--cached-days", type=int, default=7, help="cached query's window (7)")
    ap.add_argument("--workers", type=int, default=2, help="server processes per server (2)")
    ap.add_argument(
        "--admin-dsn",
        default=os.environ.get("CLINICFLOW_TEST_PG", DEFAULT_ADMIN_DSN),
        help="PostgreSQL DSN allowed to create databases (CLINICFLOW_TEST_PG)",
    )
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "clinic.yaml")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--out", type=Path, help="also write the figures here as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the database and the temp dir")
    args = ap.parse_args(argv)

    if shutil.which(args.wrk) is None:
        print("wrk not found: install Debian's package (apt-get install wrk)", file=sys.stderr)
        return 2
    run_id = uuid.uuid4().hex[:10]
    db_name = f"clinicflow_bench_{run_id}"
    url = db_url(args.admin_dsn, db_name)
    tmp = Path(tempfile.mkdtemp(prefix="clinicflow-http-load-"))
    prefixes = [f"clinicflow-bench-{run_id}:"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
        "CLINICFLOW_DATABASE_URL": url,
        "CLINICFLOW_CONFIG_PATH": str(args.config.resolve()),
        "CLINICFLOW_DATA_DIR": str(tmp / "data"),
        # Events go to the outbox and wait for `clinicflow worker` processes (none here):
        # the API processes neither relay nor consume, as in a scaled-out deployment.
        "CLINICFLOW_EVENT_TRANSPORT": "redis",
        "CLINICFLOW_EVENT_STREAM": f"{prefixes[0]}events",
        "CLINICFLOW_REDIS_URL": args.redis_url,
        # The availability cache must be shared by the 2 processes: Redis, our own prefix.
        "CLINICFLOW_CACHE_STORAGE": "redis",
        "CLINICFLOW_CACHE_PREFIX": f"{prefixes[0]}cache",
        # One client (127.0.0.1) sends everything: per-client limits would answer 429.
        "CLINICFLOW_RATE_LIMITS_ENABLED": "false",
    }
    uncached_conns = args.uncached_connections or args.workers
    print(f"run {run_id}: database {db_name}, temp {tmp}", file=sys.stderr)
    asyncio.run(_admin(args.admin_dsn, f'CREATE DATABASE "{db_name}"'))
    try:
        migrated = subprocess.run(
            [sys.executable, "-m", "clinicflow.cli", "db", "migrate"],
            env=env,
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"clinicflow db migrate failed:\n{migrated.stderr[-3000:]}")
        return _run(args, env, tmp, run_id, url, uncached_conns)
    finally:
        removed = drop_redis_keys(args.redis_url, prefixes)
        print(f"removed {removed} Redis keys", file=sys.stderr)
        if not args.keep:
            asyncio.run(_admin(args.admin_dsn, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            shutil.rmtree(tmp, ignore_errors=True)


def _run(
    args: argparse.Namespace,
    env: Mapping[str, str],
    tmp: Path,
    run_id: str,
    url: str,
    uncached_conns: int,
) -> int:
    rows: list[Row] = []
    wrk = {"threads": args.threads, "wrk": args.wrk}
    segments = iter(range(1_000))

    def fresh(mode: Mapping[str, str]) -> dict[str, str]:
        """A window run's own stretch of start minutes: no run (warm-up included) can
        answer from what an earlier one stored."""
        if mode.get("HTTP_LOAD_MODE") != "window":
            return dict(mode)
        span = int(mode["HTTP_LOAD_SPAN"])
        start = int(mode["HTTP_LOAD_START"]) + next(segments) * span * 60
        return {**mode, "HTTP_LOAD_START": str(start)}

    def measure(name: str, target: str, conns: int, mode: Mapping[str, str]) -> WrkResult:
        if args.warmup > 0:
            run_wrk(target, duration=args.warmup, connections=conns, env=fresh(mode), **wrk)
        result = run_wrk(target, duration=args.duration, connections=conns, env=fresh(mode), **wrk)
        rows.append(
            Row(
                name,
                result.rps,
                result.p50_ms,
                result.p99_ms,
                result.socket_errors + result.errors["status"],
                conns,
            )
        )
        print(f"  {name}: {result.rps:,.1f} req/s, p50 {result.p50_ms:.1f} ms", file=sys.stderr)
        return result

    # The ceiling: a bare Starlette endpoint, uvicorn with the same number of workers.
    bare_port = free_port()
    bare_cmd = [
        sys.executable, "-m", "uvicorn", "bare_starlette:app", "--app-dir", str(HERE),
        "--host", "127.0.0.1", "--port", str(bare_port), "--workers", str(args.workers),
        "--no-access-log", "--log-level", "info",
    ]  # fmt: skip
    bare_base = f"http://127.0.0.1:{bare_port}"
    with server(bare_cmd, os.environ, f"{bare_base}/ping", tmp / "bare.log", args.workers):
        measure("bare Starlette /ping", f"{bare_base}/ping", args.connections, {})

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "clinicflow.cli", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(args.workers),
    ]  # fmt: skip
    with server(cmd, env, f"{base}/readyz", tmp / "clinicflow.log", args.workers):
        # Cached: one query, again and again (the warm-up stores it). It names its dates: a
        # query without `start` begins at the current instant, a new cache key every time.
        first = datetime.now(UTC).date() + timedelta(days=1)
        last = first + timedelta(days=args.cached_days - 1)
        cached_url = f"{base}/v1/availability?{AVAILABILITY_QUERY}&start={first}&end={last}"
        measure(f"cached availability ({args.cached_days} d)", cached_url, args.connections, {})

        # Uncached: every request a different start minute (a key no one has stored), a
        # 60-day window, any practitioner. Each wrk run (warm-ups too) takes its own 2 days
        # of start minutes from tomorrow on (2,880 distinct queries, more than a run sends),
        # so the 4 runs' windows end within 69 days: inside the 90 days of advance booking.
        tomorrow = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
        window = {
            "HTTP_LOAD_MODE": "window",
            "HTTP_LOAD_PATH": f"/v1/availability?{AVAILABILITY_QUERY}",
            "HTTP_LOAD_START": str(int(tomorrow.timestamp())),
            "HTTP_LOAD_SPAN": str(2 * 24 * 60),
            "HTTP_LOAD_DAYS": "60",
        }
        measure("uncached availability (60 d)", f"{base}/", args.connections, window)
        measure(
            f"uncached availability (60 d), {uncached_conns} conns",
            f"{base}/",
            uncached_conns,
            window,
        )

        # Bookings: every distinct slot the clinic has, each POSTed once.
        offer_list = offers(args.config)
        today = datetime.now(UTC).date()
        plan = free_slots(base, offer_list, today, days=88)
        bodies = booking_bodies(plan, run_id)
        per = ", ".join(f"{o.practitioner} {len(s)}" for o, s in plan.items())
        print(f"  {len(bodies)} distinct slots to book ({per})", file=sys.stderr)
        needed = BOOKINGS_PER_SECOND * args.duration
        if len(bodies) < needed:
            print(
                f"  warning: {len(bodies)} slots cannot sustain {BOOKINGS_PER_SECOND:.0f}/s"
                f" for {args.duration:.0f} s ({needed:.0f} needed): shorten --duration",
                file=sys.stderr,
            )
        bodies_file = tmp / "bookings.jsonl"
        bodies_file.write_text("\n".join(bodies) + "\n")
        post = {"HTTP_LOAD_MODE": "post", "HTTP_LOAD_PATH": "/v1/bookings",
                "HTTP_LOAD_FILE": str(bodies_file)}  # fmt: skip
        booked = run_wrk(
            f"{base}/", duration=args.duration, connections=args.connections, env=post, **wrk
        )
    audit = asyncio.run(audit_bookings(url))

    created = booked.statuses.get(201, 0)
    conflicts = booked.statuses.get(409, 0)
    spare = booked.statuses.get(200, 0)  # the reads sent by threads that ran out of slots
    other = sum(n for code, n in booked.statuses.items() if code not in (200, 201, 409))
    # Bookings per second: created over wrk's run. A run that ran out of slots idled until
    # its end, so then the time between the first and last booking's commit counts instead.
    if booked.exhausted and audit.span_s > 0:
        per_s = audit.confirmed / audit.span_s
        rate_note = "slots ran out: rate over the DB's first..last booking"
    else:
        per_s = created / booked.duration_s if booked.duration_s else 0.0
        rate_note = ""
    rows.append(
        Row(
            "booking creation (distinct)",
            (booked.requests - spare) / booked.duration_s if booked.duration_s else 0.0,
            booked.p50_ms,
            booked.p99_ms,
            booked.socket_errors + other,
            args.connections,
            f"{per_s:,.1f} bookings/s" + (f" ({rate_note})" if rate_note else ""),
        )
    )
    checks = verdicts(rows[0], rows[1], rows[3], per_s, audit.double_bookings, rows[2])
    print()
    print(render(rows, checks))
    print()
    print(
        f"bookings: {created} x 201, {conflicts} x 409, {other} other, of {len(bodies)} "
        f"distinct slots; in the database: {audit.by_status or '{}'} (also the POSTs still "
        f"in flight when wrk stopped, at most one per connection, which it did not count)"
    )
    print(
        "double bookings (occupying blocks of one practitioner that overlap, by SQL): "
        f"{audit.double_bookings}"
    )
    if booked.socket_errors:
        print(f"socket errors during bookings: {booked.errors}")

    if args.out:
        figures: dict[str, Any] = {
            "run_id": run_id,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "duration_s": args.duration,
            "connections": args.connections,
            "uncached_connections": uncached_conns,
            "workers": args.workers,
            "wrk_threads": args.threads,
            "scenarios": [asdict(r) for r in rows],
            "bookings": {
                "slots": len(bodies),
                "created_201": created,
                "conflict_409": conflicts,
                "other": other,
                "per_second": per_s,
                "exhausted": booked.exhausted,
                "database": audit.by_status,
                "double_bookings": audit.double_bookings,
            },
            "targets": [asdict(c) for c in checks],
        }
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
