"""The figures table and the targets' verdicts, printed, never asserted (for http_load.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from load_common import BOOKINGS_PER_SECOND, CACHED_SHARE_OF_BARE, UNCACHED_P50_MS

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
