"""HTTP load benchmark: the platform on PostgreSQL with 2 worker processes, driven by wrk.

Run from the repository root (needs PostgreSQL, Redis and Debian's `wrk`):

    python benchmarks/http_load.py [--duration 10] [--connections 32] [--out figures.json]

In one run, against servers it starts itself on this machine: a bare Starlette endpoint
(the ceiling), cached availability, uncached 60-day availability (any practitioner) and
booking creation of distinct slots, and a contested slot (200 clients, each on a new
connection, booking one slot, 5 rounds: p99 and the 5xx count). It prints requests/s, p50
and p99 per scenario and the
verdict on each target (PASS/MISS, printed, never asserted), then checks in SQL that no
practitioner was double-booked. benchmarks/README.md explains the set-up and the choices.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling modules below

from load_common import (
    AVAILABILITY_QUERY,
    BOOKINGS_PER_SECOND,
    DEFAULT_ADMIN_DSN,
    HERE,
    ROOT,
)
from load_contested import Contest, contested, take_contested
from load_report import Row, render, verdicts
from load_servers import (
    _admin,
    audit_bookings,
    db_url,
    drop_redis_keys,
    free_port,
    server,
)
from load_slots import booking_bodies, free_slots, offers
from load_wrk import WrkResult, run_wrk

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
    ap.add_argument(
        "--contest-clients", type=int, default=200, help="clients racing for one slot (200)"
    )
    ap.add_argument("--contest-rounds", type=int, default=5, help="contested slots raced for (5)")
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
        contest_slots = take_contested(plan, args.contest_rounds)
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
        # Contested: each round, every client on a new connection books the same slot.
        contest = contested(base, contest_slots, args.contest_clients, run_id)
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
    rows.append(_contest_row(contest))
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
    print(
        f"contested slot: {contest.rounds} rounds of {contest.clients} clients (a new "
        f"connection each): answers {contest.statuses}; {contest.server_errors} x 5xx, "
        f"{contest.timeouts} time-outs; p50 {contest.p50_ms:.0f} ms, p99 "
        f"{contest.p99_ms:.0f} ms, slowest {contest.max_ms:.0f} ms (wanted: one 201 a round)"
    )

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
            "contested": asdict(contest),
            "targets": [asdict(c) for c in checks],
        }
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _contest_row(contest: Contest) -> Row:
    return Row(
        f"contested slot ({contest.clients} clients x {contest.rounds})",
        contest.requests / contest.duration_s if contest.duration_s else 0.0,
        contest.p50_ms,
        contest.p99_ms,
        contest.server_errors + contest.timeouts,
        contest.clients,
        f"{contest.statuses.get('201', 0)} x 201 of {contest.rounds} rounds, "
        f"{contest.server_errors} x 5xx, {contest.timeouts} time-outs",
    )


if __name__ == "__main__":
    sys.exit(main())
